//! The room socket protocol of `docs/protocol.md`: decoding client frames, encoding server
//! frames, and (in [`client`]) the mirror image for Rust test clients and the load generator.
//!
//! One WebSocket binary frame carries exactly one message: a varUint message type followed by
//! its payload. Decoding is strict (trailing bytes, unknown types and out-of-bounds lengths are
//! errors) and bounded (no allocation is sized by a length the input cannot back). Updates are
//! only checked here; yrs decodes them on the room task (see [`IncomingUpdate`]).

mod anchor;
mod awareness;
mod chat;
pub mod client;
mod coalesce;
mod error;
pub mod lib0;
pub mod preflight;
mod relay;

pub use anchor::{ChatAnchor, DecodedAnchor, MAX_POSITION_CHARS, MAX_QUOTE_CHARS};
pub use awareness::{AwarenessEntry, AwarenessUpdate};
pub use chat::{
    is_valid_client_id, validate_text, ChatEvent, ChatMessage, ChatRejection, ChatRequest,
    HISTORY_PAGE, MAX_CLIENT_ID_CHARS,
};
pub use coalesce::{coalesce_typing, prepare_batch};
pub use error::DecodeError;
pub use relay::{merge_awareness, merge_updates};

use crate::guard;
use bytes::Bytes;
use lib0::{var_len, Reader, Writer};
use std::fmt;
use yrs::updates::encoder::Encode;
use yrs::{StateVector, Update};

/// Message type of sync messages (y-protocols `messageSync`).
pub const MSG_SYNC: u64 = 0;
/// Message type of awareness messages.
pub const MSG_AWARENESS: u64 = 1;
/// Message type of auth messages.
pub const MSG_AUTH: u64 = 2;
/// Message type of awareness queries.
pub const MSG_QUERY_AWARENESS: u64 = 3;
/// Message type of chat messages, outside the range y-protocols uses.
pub const MSG_CHAT: u64 = 100;
/// Sync sub-type: step 1 (a state vector).
pub const SYNC_STEP1: u64 = 0;
/// Sync sub-type: step 2 (an update answering a step 1).
pub const SYNC_STEP2: u64 = 1;
/// Sync sub-type: an incremental update.
pub const SYNC_UPDATE: u64 = 2;

/// Size limits applied while decoding client bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted frame in bytes (`--max-frame-bytes`, default 8 MiB).
    pub max_frame_bytes: usize,
    /// Longest chat text in Unicode scalar values (4,000).
    pub max_chat_chars: usize,
    /// Largest awareness state (its JSON text) per client in bytes (64 KiB).
    pub max_awareness_state_bytes: usize,
    /// Most clients one update may carry structs for (4,000). yrs resolves the dependencies
    /// between the clients of one update in time quadratic in their number in the worst case
    /// (measured: 8,000 clients whose items each wait for the next client's, 54 ms to 70 ms;
    /// 32,000, 0.8 s), and with stack depth linear in it (`BlockPicker::next` recurses once per
    /// client whose items were all taken out of order: such an update of 3,000 clients
    /// overflowed a 256 KiB stack, and a stack overflow aborts the process). A text client's
    /// update carries one client; a whole document as many as sessions ever edited it.
    pub max_update_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 8 * 1024 * 1024,
            max_chat_chars: 4000,
            max_awareness_state_bytes: 64 * 1024,
            max_update_clients: 4_000,
        }
    }
}

/// A document update received from a client: the v1 bytes exactly as sent, to decode and apply
/// on the room task and to store and relay without re-encoding.
///
/// Making one only checks the bytes ([`preflight`] with [`preflight::Rules::Text`]): their
/// structure, which keeps a hostile update from exhausting memory or the stack, and the room's
/// schema (plain text in the `colabspace` root), which keeps it from breaking the room. It is
/// cheap and needs no document. yrs decodes the update on the
/// room task, just before applying it ([`crate::RoomDoc::apply_updates`]); an update yrs
/// refuses then is reported there, with its sender, and nothing else is disturbed. Decoding
/// there rather than on the connection's task keeps the decoded form (a `yrs::Update` and its
/// allocations) from being moved through the room's queue and batch, and spares the decode of
/// keystrokes that [`coalesce_typing`] merges.
///
/// The bytes are shared, not copied: `raw` is a view into the client's frame, and when that
/// frame is already the canonical sync update message the server relays (see
/// [`update_frame`]), it is kept as `frame` and relayed as it came.
pub struct IncomingUpdate {
    raw: Bytes,
    frame: Option<Bytes>,
    empty: bool,
    spans: preflight::Spans,
    /// It came as a sync step 2: what the client holds that the server lacks, which may be
    /// others' edits (ones a crashed server lost after relaying them) as well as its own.
    resync: bool,
}

impl IncomingUpdate {
    /// Checks the structure of v1 update bytes (see the type's docs). Never panics.
    pub fn check_v1(raw: impl Into<Bytes>) -> Result<Self, DecodeError> {
        Self::check_shared(raw.into(), None, &Limits::default())
    }

    /// [`IncomingUpdate::check_v1`] under other rules: [`preflight::Rules::Structure`] lets
    /// through what a room stored before its schema existed (and what tests of the recovery
    /// from a failed apply need). Client bytes go through `check_v1`.
    pub fn check_v1_with(
        raw: impl Into<Bytes>,
        rules: preflight::Rules,
    ) -> Result<Self, DecodeError> {
        Self::check_ruled(
            raw.into(),
            None,
            rules,
            Limits::default().max_update_clients,
        )
    }

    fn check_shared(
        raw: Bytes,
        frame: Option<Bytes>,
        limits: &Limits,
    ) -> Result<Self, DecodeError> {
        Self::check_ruled(
            raw,
            frame,
            preflight::Rules::Text,
            limits.max_update_clients,
        )
    }

    fn check_ruled(
        raw: Bytes,
        frame: Option<Bytes>,
        rules: preflight::Rules,
        max_clients: usize,
    ) -> Result<Self, DecodeError> {
        let scanned = preflight::scan_update_v1(&raw, rules, max_clients)?;
        // The room holds client updates to its clocks too; the old rules do not.
        let spans = match rules {
            preflight::Rules::Text => scanned.spans,
            preflight::Rules::Structure => preflight::Spans::default(),
        };
        Ok(IncomingUpdate {
            raw,
            frame,
            empty: scanned.empty,
            spans,
            resync: false,
        })
    }

    /// The v1 bytes as the client sent them.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Gives the v1 bytes back (e.g. after a failed apply, to log them).
    pub fn into_raw(self) -> Bytes {
        self.raw
    }

    /// True when the update carries neither blocks nor deletions (a typical step 2 from a
    /// client that had nothing new); such an update needs no applying, storing or relaying.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Whether it came as a sync step 2 (see the field).
    pub fn is_resync(&self) -> bool {
        self.resync
    }

    /// The Yjs client ids under which the update writes content (its items). Deleting others'
    /// text names their ids in the delete set; that is not writing under them.
    pub fn writes_as(&self) -> impl Iterator<Item = u64> + '_ {
        self.spans.iter().map(|span| span.client)
    }

    pub(crate) fn into_parts(self) -> (Bytes, Option<Bytes>, preflight::Spans) {
        (self.raw, self.frame, self.spans)
    }
}

/// yrs's `decode` (`Update::decode_v1` or `decode_v2`) of `bytes`, with a panic in yrs turned
/// into an error.
pub(crate) fn decode_update(
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<Update, yrs::encoding::read::Error>,
) -> Result<Update, DecodeError> {
    guard::catch(|| decode(bytes))
        .map_err(DecodeError::Panicked)?
        .map_err(DecodeError::from)
}

impl fmt::Debug for IncomingUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingUpdate")
            .field("raw_len", &self.raw.len())
            .field("relays_own_frame", &self.frame.is_some())
            .finish_non_exhaustive()
    }
}

/// A decoded client frame.
#[derive(Debug)]
pub enum ClientMessage {
    /// Sync step 1: answer with [`crate::RoomDoc::answer_step1`].
    SyncStep1(StateVector),
    /// Sync step 2: apply, store and relay as an update.
    SyncStep2(IncomingUpdate),
    /// Sync update: apply, store and relay.
    Update(IncomingUpdate),
    /// Awareness update: apply and relay.
    Awareness(AwarenessUpdate),
    /// Auth message; the protocol says the server ignores it.
    Auth,
    /// Query for all awareness states.
    QueryAwareness,
    /// Chat request.
    Chat(ChatRequest),
    /// A chat `send` refused for its text: answer `rejected` with this `client_id` and reason,
    /// and keep the socket.
    ChatRefused {
        /// The `client_id` of the refused `send`.
        client_id: String,
        /// Why it was refused.
        reason: ChatRejection,
    },
    /// A chat `edit` refused for its text: answer `rejected` with this message id and reason,
    /// and keep the socket.
    ChatChangeRefused {
        /// The id of the message the `edit` was for.
        id: i64,
        /// Why it was refused.
        reason: ChatRejection,
    },
}

/// The envelope of a frame: message type and raw payload, checked for trailing bytes but not
/// yet decoded. Shared by the server-side and client-side decoders.
pub(crate) enum Envelope<'a> {
    Sync(u64, &'a [u8]),
    Awareness(&'a [u8]),
    Auth(Option<&'a str>),
    QueryAwareness,
    Chat(&'a str),
}

pub(crate) fn parse_envelope(
    bytes: &[u8],
    max_frame_bytes: usize,
) -> Result<Envelope<'_>, DecodeError> {
    if bytes.len() > max_frame_bytes {
        return Err(DecodeError::FrameTooLarge {
            len: bytes.len(),
            max: max_frame_bytes,
        });
    }
    let mut r = Reader::new(bytes);
    let envelope = match r.var_u64()? {
        MSG_SYNC => match r.var_u64()? {
            sub @ (SYNC_STEP1 | SYNC_STEP2 | SYNC_UPDATE) => Envelope::Sync(sub, r.buf()?),
            other => return Err(DecodeError::UnknownSyncType(other)),
        },
        MSG_AWARENESS => Envelope::Awareness(r.buf()?),
        MSG_AUTH => match r.var_u64()? {
            0 => Envelope::Auth(Some(r.string()?)),
            1 => Envelope::Auth(None),
            other => return Err(DecodeError::UnknownAuthType(other)),
        },
        MSG_QUERY_AWARENESS => Envelope::QueryAwareness,
        MSG_CHAT => Envelope::Chat(r.string()?),
        other => return Err(DecodeError::UnknownMessageType(other)),
    };
    // Check framing before the expensive payload decode.
    r.finish()?;
    Ok(envelope)
}

/// Decodes one frame received from a client. [`decode_client_bytes`] does the same without
/// copying the update out of the frame.
pub fn decode_client_frame(bytes: &[u8], limits: &Limits) -> Result<ClientMessage, DecodeError> {
    decode_client_bytes(Bytes::copy_from_slice(bytes), limits)
}

/// Decodes one frame received from a client; an update in it shares the frame's bytes. The
/// frame is taken, not borrowed: an update relayed as it came keeps the frame itself rather
/// than a second handle on it.
pub fn decode_client_bytes(frame: Bytes, limits: &Limits) -> Result<ClientMessage, DecodeError> {
    Ok(match parse_envelope(&frame, limits.max_frame_bytes)? {
        Envelope::Sync(SYNC_STEP1, sv) => {
            ClientMessage::SyncStep1(preflight::decode_state_vector_v1(sv)?)
        }
        Envelope::Sync(SYNC_STEP2, update) => {
            let mut update = IncomingUpdate::check_shared(frame.slice_ref(update), None, limits)?;
            update.resync = true;
            ClientMessage::SyncStep2(update)
        }
        Envelope::Sync(_, update) => {
            // Relayed as it came only when it is byte for byte what `update_frame` would make
            // of it (no over-long varints in the header).
            let raw = frame.slice_ref(update);
            let canonical = frame.len() == update_frame_len(raw.len());
            ClientMessage::Update(IncomingUpdate::check_shared(
                raw,
                canonical.then_some(frame),
                limits,
            )?)
        }
        Envelope::Awareness(update) => {
            ClientMessage::Awareness(AwarenessUpdate::decode(update, limits)?)
        }
        Envelope::Auth(_) => ClientMessage::Auth,
        Envelope::QueryAwareness => ClientMessage::QueryAwareness,
        Envelope::Chat(json) => chat::parse_client_chat(json)?,
    })
}

/// Length of [`update_frame`] of an update of `len` bytes.
fn update_frame_len(len: usize) -> usize {
    var_len(MSG_SYNC) + var_len(SYNC_UPDATE) + var_len(len as u64) + len
}

/// `[type, sub-type?, buf]` with the exact capacity.
fn framed(prefix: &[u64], payload: &[u8]) -> Vec<u8> {
    let header: usize = prefix.iter().map(|&p| var_len(p)).sum();
    let mut w = Writer::with_capacity(header + var_len(payload.len() as u64) + payload.len());
    for &p in prefix {
        w.var_u64(p);
    }
    w.buf(payload);
    w.into_vec()
}

/// Sync step 1 carrying `sv` (sent by the server on connect, and by clients).
pub fn sync_step1_frame(sv: &StateVector) -> Vec<u8> {
    framed(&[MSG_SYNC, SYNC_STEP1], &sv.encode_v1())
}

/// Sync step 2 carrying the v1 `update` that answers a step 1.
pub fn sync_step2_frame(update: &[u8]) -> Vec<u8> {
    framed(&[MSG_SYNC, SYNC_STEP2], update)
}

/// Sync update carrying the v1 `update` (how the server relays every applied update).
pub fn update_frame(update: &[u8]) -> Vec<u8> {
    framed(&[MSG_SYNC, SYNC_UPDATE], update)
}

/// Awareness message carrying `update`.
pub fn awareness_frame(update: &AwarenessUpdate) -> Vec<u8> {
    framed(&[MSG_AWARENESS], &update.encode())
}

/// The y-protocols auth message "permission denied" (`2, 0, reason`): what the server tells a
/// socket whose document changes it drops (a viewer's). A stock y-websocket client only logs it.
pub fn permission_denied_frame(reason: &str) -> Vec<u8> {
    let mut w = Writer::with_capacity(reason.len() + 4);
    w.var_u64(MSG_AUTH).var_u64(0).string(reason);
    w.into_vec()
}

/// Chat message carrying `event` as JSON.
pub fn chat_frame(event: &ChatEvent) -> Vec<u8> {
    // Serialising derived structs of strings, integers, booleans and vectors into a Vec
    // cannot fail (serde_json only errors on I/O or non-string map keys), so this never panics.
    let json = serde_json::to_string(event).expect("a ChatEvent always serialises to JSON");
    framed(&[MSG_CHAT], json.as_bytes())
}

//! The room sockets' counters: messages by type, refusals by reason, bytes each way. They are
//! counted for every message, so each label value's counter is looked up once (on first use,
//! after the recorder is installed) and kept: counting is then one atomic addition, where
//! `metrics::counter!` with a label would build a key and look it up in the registry each time.

use std::sync::OnceLock;

use chatspace_crdt::room::AwarenessError;
use chatspace_crdt::{ClientMessage, DecodeError};
use metrics::Counter;

use super::{BYTES_RECEIVED, BYTES_SENT, MESSAGES_RECEIVED, MESSAGES_REFUSED};

/// The `type` label of [`MESSAGES_RECEIVED`], one per kind of message the decoder tells apart
/// (a chat `send` refused for its text counts as `chat`, and as refused).
const TYPES: [&str; 7] = [
    "sync_step1",
    "sync_step2",
    "update",
    "awareness",
    "query_awareness",
    "auth",
    "chat",
];

/// Why a message from a room socket was not accepted: the `reason` label of
/// [`MESSAGES_REFUSED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A frame that does not decode, or an update whose structure is wrong (4400).
    Malformed,
    /// A frame over `--max-frame-bytes` (1009), or an awareness state over its limit (4400).
    TooLarge,
    /// Over the socket's rate limit (4429).
    RateLimited,
    /// A text frame; the protocol is binary (1003).
    TextFrame,
    /// A frame that breaks the WebSocket protocol, or text that is not UTF-8 (1002, 1007).
    ProtocolError,
    /// An update that does not follow on from what the room holds: the client resyncs (1013).
    NotFollowingOn,
    /// An update the document refused (4400).
    RefusedUpdate,
    /// An update of a batch that ran past `--apply-deadline-ms` (4413).
    TooCostly,
    /// A chat message whose text was refused; the socket stays open.
    ChatRejected,
    /// A viewer's document change or chat message, dropped; the socket stays open.
    ReadOnly,
    /// An update that writes under a client id another user owns (4406).
    ForeignClient,
}

impl Refusal {
    const ALL: [Refusal; 11] = [
        Self::Malformed,
        Self::TooLarge,
        Self::RateLimited,
        Self::TextFrame,
        Self::ProtocolError,
        Self::NotFollowingOn,
        Self::RefusedUpdate,
        Self::TooCostly,
        Self::ChatRejected,
        Self::ReadOnly,
        Self::ForeignClient,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::TextFrame => "text_frame",
            Self::ProtocolError => "protocol_error",
            Self::NotFollowingOn => "not_following_on",
            Self::RefusedUpdate => "refused_update",
            Self::TooCostly => "too_costly",
            Self::ChatRejected => "chat_rejected",
            Self::ReadOnly => "read_only",
            Self::ForeignClient => "foreign_client",
        }
    }

    /// Why a frame the decoder refused was refused.
    pub fn of_frame(error: &DecodeError) -> Self {
        match error {
            DecodeError::FrameTooLarge { .. } | DecodeError::AwarenessStateTooLarge { .. } => {
                Self::TooLarge
            }
            _ => Self::Malformed,
        }
    }

    /// Why an update the room's document refused was refused.
    pub fn of_update(error: &DecodeError) -> Self {
        match error {
            DecodeError::NotFollowingOn { .. } => Self::NotFollowingOn,
            _ => Self::RefusedUpdate,
        }
    }

    /// Why an awareness update the room refused was refused.
    pub fn of_awareness(error: &AwarenessError) -> Self {
        match error {
            AwarenessError::StateTooLarge { .. } => Self::TooLarge,
        }
    }
}

/// The counters, one per label value, in the order of [`TYPES`] and [`Refusal::ALL`].
struct Counters {
    received: [Counter; TYPES.len()],
    refused: [Counter; Refusal::ALL.len()],
    bytes_received: Counter,
    bytes_sent: Counter,
}

fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| {
        // Handles taken before the recorder is installed would count nowhere.
        super::handle();
        Counters {
            received: TYPES.map(|kind| metrics::counter!(MESSAGES_RECEIVED, "type" => kind)),
            refused: Refusal::ALL
                .map(|reason| metrics::counter!(MESSAGES_REFUSED, "reason" => reason.label())),
            bytes_received: metrics::counter!(BYTES_RECEIVED),
            bytes_sent: metrics::counter!(BYTES_SENT),
        }
    })
}

/// Registers every series, so that each shows from the start (at zero).
pub(super) fn register() {
    counters();
}

/// Counts a decoded message from a room socket.
pub fn received(message: &ClientMessage) {
    let kind = match message {
        ClientMessage::SyncStep1(_) => 0,
        ClientMessage::SyncStep2(_) => 1,
        ClientMessage::Update(_) => 2,
        ClientMessage::Awareness(_) => 3,
        ClientMessage::QueryAwareness => 4,
        ClientMessage::Auth => 5,
        ClientMessage::Chat(_) => 6,
        ClientMessage::ChatRefused { .. } | ClientMessage::ChatChangeRefused { .. } => {
            refused(Refusal::ChatRejected);
            6
        }
    };
    counters().received[kind].increment(1);
}

/// Counts a message the server did not accept.
pub fn refused(reason: Refusal) {
    // Refusals are rare: finding the reason's place in the list costs nothing that matters, and
    // no index has to be kept in step with the variants.
    if let Some(index) = Refusal::ALL.iter().position(|r| *r == reason) {
        counters().refused[index].increment(1);
    }
}

/// Counts the payload bytes of a frame read from a room socket.
pub fn bytes_received(bytes: usize) {
    counters().bytes_received.increment(bytes as u64);
}

/// Counts the payload bytes of frames written to a room socket.
pub fn bytes_sent(bytes: usize) {
    counters().bytes_sent.increment(bytes as u64);
}

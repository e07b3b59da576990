//! The client side of the protocol, for Rust test clients, benches and the load generator.
//!
//! Sync and awareness frames are symmetric, so clients use the same encoders as the server
//! ([`super::sync_step1_frame`], [`super::sync_step2_frame`], [`super::update_frame`],
//! [`super::awareness_frame`]); this module adds what only a client sends and a decoder for
//! what only a server sends.

use super::lib0::Writer;
use super::{
    awareness_frame, chat, parse_envelope, preflight, AwarenessEntry, AwarenessUpdate, ChatEvent,
    ChatRequest, DecodeError, Envelope, Limits, MSG_AUTH, MSG_CHAT, MSG_QUERY_AWARENESS,
    SYNC_STEP1, SYNC_STEP2,
};
use yrs::{ClientID, StateVector};

/// A decoded server frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The server's sync step 1; answer with a step 2 of what the server lacks.
    SyncStep1(StateVector),
    /// A step 2: v1 update bytes holding what the client lacked.
    SyncStep2(Vec<u8>),
    /// An update relayed from another client (v1 bytes).
    Update(Vec<u8>),
    /// Awareness states of other clients.
    Awareness(AwarenessUpdate),
    /// Auth message: `Some(reason)` when denied, `None` when granted.
    Auth(Option<String>),
    /// A query for awareness states (servers do not send it; decoded for symmetry).
    QueryAwareness,
    /// A chat event (boxed: a message with its anchor and edit fields is several times the
    /// size of every other variant).
    Chat(Box<ChatEvent>),
}

/// Decodes one frame received from the server. Update payloads are returned as bytes for the
/// client to apply to its own document.
pub fn decode_server_frame(bytes: &[u8], limits: &Limits) -> Result<ServerMessage, DecodeError> {
    Ok(match parse_envelope(bytes, limits.max_frame_bytes)? {
        Envelope::Sync(SYNC_STEP1, sv) => {
            ServerMessage::SyncStep1(preflight::decode_state_vector_v1(sv)?)
        }
        Envelope::Sync(SYNC_STEP2, update) => ServerMessage::SyncStep2(update.to_vec()),
        Envelope::Sync(_, update) => ServerMessage::Update(update.to_vec()),
        Envelope::Awareness(update) => {
            ServerMessage::Awareness(AwarenessUpdate::decode(update, limits)?)
        }
        Envelope::Auth(reason) => ServerMessage::Auth(reason.map(str::to_owned)),
        Envelope::QueryAwareness => ServerMessage::QueryAwareness,
        Envelope::Chat(json) => ServerMessage::Chat(Box::new(chat::parse_event(json)?)),
    })
}

/// An awareness frame of `(client id, clock, state)` entries (`None`: the client is gone).
pub fn awareness_entries_frame(entries: &[(u64, u64, Option<&str>)]) -> Vec<u8> {
    let entries = entries
        .iter()
        .map(|&(client, clock, state)| AwarenessEntry {
            client_id: ClientID::new(client),
            clock,
            state: state.map(str::to_owned),
        })
        .collect();
    awareness_frame(&AwarenessUpdate { entries })
}

/// A chat request frame (type 100).
pub fn chat_request_frame(request: &ChatRequest) -> Vec<u8> {
    // Serialising a derived enum of strings and integers cannot fail.
    let json = serde_json::to_string(request).expect("a ChatRequest always serialises to JSON");
    let mut w = Writer::with_capacity(json.len() + 8);
    w.var_u64(MSG_CHAT).string(&json);
    w.into_vec()
}

/// A chat `send` frame.
pub fn chat_send_frame(client_id: &str, text: &str) -> Vec<u8> {
    chat_request_frame(&ChatRequest::Send {
        client_id: client_id.to_owned(),
        text: text.to_owned(),
        anchor: None,
    })
}

/// A chat `since` frame asking for messages with an id greater than `after`.
pub fn chat_since_frame(after: i64) -> Vec<u8> {
    chat_request_frame(&ChatRequest::Since {
        after,
        changes_after: None,
    })
}

/// A chat `since` frame asking for every message whose change counter is above `changes`.
pub fn chat_changes_since_frame(after: i64, changes: i64) -> Vec<u8> {
    chat_request_frame(&ChatRequest::Since {
        after,
        changes_after: Some(changes),
    })
}

/// A chat `edit` frame: message `id` gets `text`.
pub fn chat_edit_frame(id: i64, text: &str) -> Vec<u8> {
    chat_request_frame(&ChatRequest::Edit {
        id,
        text: text.to_owned(),
    })
}

/// A chat `delete` frame for message `id`.
pub fn chat_delete_frame(id: i64) -> Vec<u8> {
    chat_request_frame(&ChatRequest::Delete { id })
}

/// A query-awareness frame (type 3, no payload).
pub fn query_awareness_frame() -> Vec<u8> {
    let mut w = Writer::with_capacity(1);
    w.var_u64(MSG_QUERY_AWARENESS);
    w.into_vec()
}

/// An auth frame: `Some(reason)` for "denied", `None` for "granted".
pub fn auth_frame(denied: Option<&str>) -> Vec<u8> {
    let mut w = Writer::with_capacity(8 + denied.map_or(0, str::len));
    w.var_u64(MSG_AUTH);
    match denied {
        Some(reason) => w.var_u64(0).string(reason),
        None => w.var_u64(1),
    };
    w.into_vec()
}

/// The sync step 2 frame a client sends in answer to the server's step 1: everything in
/// `doc` that `server_sv` lacks (how offline edits flow up after a reconnect).
pub fn answer_server_step1(doc: &yrs::Doc, server_sv: &StateVector) -> Vec<u8> {
    use yrs::{ReadTxn, Transact};
    let update = doc.transact().encode_state_as_update_v1(server_sv);
    super::sync_step2_frame(&update)
}

/// The sync step 1 frame a client sends on connect, carrying the state vector of `doc`.
pub fn client_step1(doc: &yrs::Doc) -> Vec<u8> {
    use yrs::{ReadTxn, Transact};
    super::sync_step1_frame(&doc.transact().state_vector())
}

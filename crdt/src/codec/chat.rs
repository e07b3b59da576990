//! Chat payloads (message type 100): JSON objects tagged by a `type` field, as specified in
//! `docs/protocol.md`. Requests come from clients; events are produced by the server.

use super::{ChatAnchor, ClientMessage, DecodeError, Limits};
use serde::{Deserialize, Serialize};

/// Longest accepted `client_id` (characters of `A-Z a-z 0-9 _ -`).
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Most messages a `history` reply carries (`docs/protocol.md`, "Limits").
pub const HISTORY_PAGE: usize = 200;

/// A chat request sent by a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatRequest {
    /// Post a message. `client_id` makes resends idempotent; `text` is checked with
    /// [`validate_text`] by the server (a bad text is answered, not a protocol error).
    Send {
        /// Client-chosen id of this message (a UUID suits), unique per author and room.
        client_id: String,
        /// The message text, never interpreted as HTML.
        text: String,
        /// The passage of the room's text the message comments on, checked by the server
        /// ([`ChatAnchor::decode`] and the room's document); absent for a plain message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anchor: Option<ChatAnchor>,
    },
    /// Catch up on messages with an id greater than `after` (0 for everything), or, with
    /// `changes_after`, on every message whose [`ChatMessage::change`] is above it: new ones and
    /// those edited or deleted since.
    Since {
        /// Highest message id the client has already seen.
        after: i64,
        /// Highest change counter the client has seen; when present, `after` is not used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changes_after: Option<i64>,
    },
    /// Replace the text of one of the sender's own messages; `text` is checked as for `send`.
    Edit {
        /// The message's id.
        id: i64,
        /// The new text.
        text: String,
    },
    /// Delete one of the sender's own messages: its text is erased from storage.
    Delete {
        /// The message's id.
        id: i64,
    },
}

/// A stored chat message, as sent to clients and returned by the HTTP history endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Server-assigned id, increasing with every message; the catch-up key.
    pub id: i64,
    /// The id the sending client chose for the message.
    pub client_id: String,
    /// Username of the author, taken from the session.
    pub author: String,
    /// The message text.
    pub text: String,
    /// Server time the message was stored: RFC 3339, UTC, milliseconds (`…T19:05:03.120Z`).
    pub sent_at: String,
    /// The passage the message comments on, as sent; absent for a plain message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<ChatAnchor>,
    /// Server time of the last edit or of the deletion, as `sent_at`; `None` (null) when never
    /// changed.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// Whether the author deleted the message; its `text` is then empty.
    #[serde(default)]
    pub deleted: bool,
    /// The room's change counter when the message was last stored, edited or deleted: it grows
    /// with every such change in the room (the catch-up key of `since`'s `changes_after`).
    #[serde(default)]
    pub change: i64,
    /// Usernames of room members the text mentions as `@username`, as spelled at sign-up.
    #[serde(default)]
    pub mentions: Vec<String>,
}

/// Why a `send` was refused without closing the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRejection {
    /// The text was empty after trimming white space.
    Empty,
    /// The text was longer than [`Limits::max_chat_chars`] characters.
    TooLong,
    /// The `text` field is missing or is not a string, or the message holds a UTF-16 surrogate
    /// that is not half of a pair (`JSON.stringify` writes one for a broken JavaScript string).
    InvalidText,
    /// The sender may not chat in this room (a viewer).
    Forbidden,
    /// The `anchor` is not an object of two positions in the room's text and a quote of 1 to
    /// [`super::MAX_QUOTE_CHARS`] characters (see [`ChatAnchor::decode`]).
    InvalidAnchor,
    /// `edit`/`delete`: the room holds no message with that id.
    NotFound,
    /// `edit`/`delete`: the message is someone else's.
    NotYours,
    /// `edit`: the message was deleted.
    Deleted,
}

/// A chat event sent by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// To the sender, once its message is stored (or was already stored under that client id).
    Ack {
        /// The stored message.
        message: ChatMessage,
    },
    /// To every other connection of the room, after the message is stored.
    Message {
        /// The stored message.
        message: ChatMessage,
    },
    /// To the sender: nothing was stored.
    Rejected {
        /// The `client_id` of the refused send (absent for a refused `edit` or `delete`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        client_id: String,
        /// The message id of a refused `edit` or `delete`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<i64>,
        /// Why it was refused.
        reason: ChatRejection,
    },
    /// To the sender of an `edit` or `delete`, once the change is stored (or, for a repeated
    /// `delete`, was already): the message as it now is.
    UpdateAck {
        /// The changed message.
        message: ChatMessage,
    },
    /// To every other connection of the room (on every node), after an edit or deletion is
    /// stored: the message as it now is.
    Updated {
        /// The changed message.
        message: ChatMessage,
    },
    /// The connection's role in the room (`owner`, `editor` or `viewer`): sent after the
    /// greeting and again whenever it changes, so that the page can turn editing and chat on
    /// or off. A viewer's document changes and chat sends are dropped by the server.
    Role {
        /// The role's name.
        role: String,
    },
    /// Answer to `since`: up to [`HISTORY_PAGE`] messages with `id > after`, oldest first.
    History {
        /// The messages, oldest first.
        messages: Vec<ChatMessage>,
        /// True when more messages follow; ask again with the last id.
        more: bool,
    },
}

/// Checks the text of a `send`: not empty after trimming white space, at most
/// `limits.max_chat_chars` Unicode scalar values (Rust `char`s; a UTF-16 surrogate pair counts
/// once). U+FEFF counts as white space too, as it does for JavaScript's `String.trim`, so a
/// browser that pre-checks with `trim()` agrees with the server.
pub fn validate_text(text: &str, limits: &Limits) -> Result<(), ChatRejection> {
    if text
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .is_empty()
    {
        return Err(ChatRejection::Empty);
    }
    // `chars().count()` walks the whole string; stop as soon as the limit is passed.
    if text.chars().nth(limits.max_chat_chars).is_some() {
        return Err(ChatRejection::TooLong);
    }
    Ok(())
}

/// True for 1 to 64 characters of `A-Z a-z 0-9 _ -`.
pub fn is_valid_client_id(client_id: &str) -> bool {
    (1..=MAX_CLIENT_ID_CHARS).contains(&client_id.len())
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses a chat request from the JSON payload of a type-100 frame.
pub fn parse_request(json: &str) -> Result<ChatRequest, DecodeError> {
    let request: ChatRequest =
        serde_json::from_str(json).map_err(|e| DecodeError::MalformedChat(e.to_string()))?;
    if let ChatRequest::Send { client_id, .. } = &request {
        if !is_valid_client_id(client_id) {
            return Err(DecodeError::BadClientId);
        }
    }
    Ok(request)
}

/// The fields of a `send` that name it, read without looking at the rest (serde skips unknown
/// fields without decoding their strings, so a broken `text` does not stop this).
#[derive(Deserialize)]
struct SendHeader {
    #[serde(rename = "type")]
    kind: String,
    client_id: String,
}

/// A `send`'s text, read alone (other fields are skipped without decoding their strings).
#[derive(Deserialize)]
struct SendText {
    #[allow(dead_code)] // only whether it parses matters
    text: String,
}

/// A `send`'s text and anchor, read alone: when the text parses but this does not, the anchor
/// is what is wrong.
#[derive(Deserialize)]
struct SendTextAndAnchor {
    #[allow(dead_code)] // only whether it parses matters
    text: String,
    #[allow(dead_code)]
    #[serde(default)]
    anchor: Option<ChatAnchor>,
}

/// The fields of an `edit` that name it, read as [`SendHeader`].
#[derive(Deserialize)]
struct EditHeader {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
}

/// Parses the chat payload of a client frame. A `send` that names itself with a valid
/// `client_id` (an `edit` with a numeric `id`) but whose `text` is unusable is refused with
/// [`ChatRejection::InvalidText`], a `send` whose `anchor` is not an object of three strings with
/// [`ChatRejection::InvalidAnchor`] (the server answers `rejected` and keeps the socket); anything
/// that cannot be attributed to one message is an error (the socket closes with 4400).
pub(crate) fn parse_client_chat(json: &str) -> Result<ClientMessage, DecodeError> {
    let error = match parse_request(json) {
        Ok(request) => return Ok(ClientMessage::Chat(request)),
        Err(error) => error,
    };
    if let Ok(header) = serde_json::from_str::<SendHeader>(json) {
        if header.kind == "send" && is_valid_client_id(&header.client_id) {
            let text_ok = serde_json::from_str::<SendText>(json).is_ok();
            let reason = match serde_json::from_str::<SendTextAndAnchor>(json) {
                Err(_) if text_ok => ChatRejection::InvalidAnchor,
                _ => ChatRejection::InvalidText,
            };
            return Ok(ClientMessage::ChatRefused {
                client_id: header.client_id,
                reason,
            });
        }
    }
    match serde_json::from_str::<EditHeader>(json) {
        Ok(header) if header.kind == "edit" => Ok(ClientMessage::ChatChangeRefused {
            id: header.id,
            reason: ChatRejection::InvalidText,
        }),
        _ => Err(error),
    }
}

/// Parses a chat event from the JSON payload of a type-100 frame (client side).
pub fn parse_event(json: &str) -> Result<ChatEvent, DecodeError> {
    serde_json::from_str(json).map_err(|e| DecodeError::MalformedChat(e.to_string()))
}

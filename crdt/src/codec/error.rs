//! The error of every decode in this crate: why a frame (or a stored blob) was refused.

use thiserror::Error;

/// A frame or payload that cannot be accepted. For a client frame the server closes that one
/// connection with 4400 (1009 for [`DecodeError::FrameTooLarge`]); nothing else is affected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is larger than `Limits::max_frame_bytes`.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Size of the frame.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The input ended in the middle of a value.
    #[error("unexpected end of input")]
    Truncated,
    /// A length prefix or count declares more than the remaining input could hold.
    #[error("declared length {declared} does not fit the {remaining} remaining bytes")]
    LengthOutOfBounds {
        /// The declared length or count.
        declared: u64,
        /// Bytes left in the input at that point.
        remaining: usize,
    },
    /// A variable-length integer is overlong or exceeds the range of its field.
    #[error("malformed or out-of-range variable-length integer")]
    InvalidVarInt,
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Bytes remain after the one message a frame may carry.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
    /// The frame starts with a message type this protocol does not define.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A sync message has a sub-type other than step 1, step 2 or update.
    #[error("unknown sync message type {0}")]
    UnknownSyncType(u64),
    /// An auth message is neither `0` + reason nor `1`.
    #[error("unknown auth message type {0}")]
    UnknownAuthType(u64),
    /// A state vector could not be decoded.
    #[error("malformed state vector: {0}")]
    MalformedStateVector(&'static str),
    /// An update's content starts past what the room holds of its client (and does not wait
    /// for its own previous keystroke). yrs would integrate it out of order; Yjs would keep it
    /// pending. An honest client gets here only when it and the server disagree about what the
    /// server has (after a crash lost the server's last writes, say), so the server closes it
    /// with 1013 and its reconnect's sync step 2 brings what is missing, in order.
    #[error("content of client {client} at clock {needs} does not follow on from the room's clock {reached}")]
    NotFollowingOn {
        /// The client whose content it is.
        client: u64,
        /// Where the content starts.
        needs: u32,
        /// How far the room holds that client's content.
        reached: u32,
    },
    /// A document update could not be decoded (structure check or yrs).
    #[error("malformed update: {0}")]
    MalformedUpdate(String),
    /// An awareness update could not be decoded, or a state is not JSON.
    #[error("malformed awareness update: {0}")]
    MalformedAwareness(String),
    /// One awareness state is larger than `Limits::max_awareness_state_bytes`.
    #[error("awareness state of client {client_id} is {len} bytes, the limit is {max}")]
    AwarenessStateTooLarge {
        /// The client id of the oversized state.
        client_id: u64,
        /// Size of its JSON text in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// A chat payload is not one of the JSON objects the protocol defines.
    #[error("malformed chat message: {0}")]
    MalformedChat(String),
    /// A chat `client_id` is not 1 to 64 characters of `A-Z a-z 0-9 _ -`.
    #[error("chat client_id must be 1 to 64 characters of A-Z a-z 0-9 _ -")]
    BadClientId,
    /// yrs panicked while decoding; the panic was caught and nothing was changed.
    #[error("decoder panicked: {0}")]
    Panicked(String),
}

/// yrs refused to decode an update.
impl From<yrs::encoding::read::Error> for DecodeError {
    fn from(error: yrs::encoding::read::Error) -> Self {
        DecodeError::MalformedUpdate(error.to_string())
    }
}

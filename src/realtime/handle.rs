//! How connections and their room's task talk: the handle and the commands it carries one way,
//! what the room sends a connection the other way, and why a room closes a socket.

use bytes::Bytes;
use chatspace_crdt::ClientMessage;
use tokio::sync::{mpsc, oneshot};

use crate::auth::CurrentUser;
use crate::rooms::access::Role;

/// What a connection can ask of its room.
pub enum Command {
    /// Subscribe: the room sends the greeting (its sync step 1, the awareness states and the
    /// connection's role) into `out`, then everything the connection should see.
    Join {
        conn: u64,
        user: CurrentUser,
        role: Role,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<Result<(), RoomUnavailable>>,
    },
    /// A decoded message from a joined connection.
    Message { conn: u64, message: ClientMessage },
    /// The connection is gone.
    Leave { conn: u64 },
    /// The connection's user has this role now (see `Rooms::access_changed`): the room tells
    /// the client, and, when it may edit again, asks it with a fresh sync step 1 for what it
    /// holds.
    Role { conn: u64, role: Role },
    /// The room was deleted: every socket closes with 4404 and the task stops without saving.
    Delete,
    /// Answered once every update applied so far is stored (the room does not wait for it).
    Flush { done: oneshot::Sender<()> },
}

/// The room's stored data cannot be read; an operator has to look.
#[derive(Debug, Clone, Copy)]
pub struct RoomUnavailable;

/// How connections reach a room's task.
#[derive(Clone, Debug)]
pub struct RoomHandle {
    /// The room task's queue; bounded, so a flood from one socket makes that socket wait.
    tx: mpsc::Sender<Command>,
}

impl RoomHandle {
    pub fn new(tx: mpsc::Sender<Command>) -> Self {
        Self { tx }
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Queues a command; `false` when the room task has stopped.
    pub async fn send(&self, command: Command) -> bool {
        self.tx.send(command).await.is_ok()
    }
}

/// What the room sends a connection.
#[derive(Debug)]
pub enum Outbound {
    Frame(Bytes),
    Close(CloseCode),
}

/// Why the server closes a socket; the numbers are part of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    GoingAway = 1001,
    ProtocolError = 1002,
    UnsupportedData = 1003,
    InvalidPayload = 1007,
    TooBig = 1009,
    TryAgainLater = 1013,
    Malformed = 4400,
    Unauthenticated = 4401,
    ForbiddenOrigin = 4403,
    UnknownRoom = 4404,
    /// The user may no longer open the room (removed from it, or it turned private).
    NoLongerAllowed = 4405,
    /// The update writes under a Yjs client id another user owns (see `authorship`).
    ForeignClient = 4406,
    TooManySockets = 4409,
    RoomUnavailable = 4410,
    UpdateTooCostly = 4413,
    RateLimited = 4429,
}

impl CloseCode {
    /// The code as a metrics label (a fixed set of values).
    pub fn as_label(self) -> &'static str {
        match self {
            Self::GoingAway => "1001",
            Self::ProtocolError => "1002",
            Self::UnsupportedData => "1003",
            Self::InvalidPayload => "1007",
            Self::TooBig => "1009",
            Self::TryAgainLater => "1013",
            Self::Malformed => "4400",
            Self::Unauthenticated => "4401",
            Self::ForbiddenOrigin => "4403",
            Self::UnknownRoom => "4404",
            Self::NoLongerAllowed => "4405",
            Self::ForeignClient => "4406",
            Self::TooManySockets => "4409",
            Self::RoomUnavailable => "4410",
            Self::UpdateTooCostly => "4413",
            Self::RateLimited => "4429",
        }
    }

    /// The reason sent in the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            Self::GoingAway => "server shutting down",
            Self::ProtocolError => "websocket protocol error",
            Self::UnsupportedData => "binary frames only",
            Self::InvalidPayload => "text is not UTF-8",
            Self::TooBig => "frame too large",
            Self::TryAgainLater => "connection fell behind; reconnect to resync",
            Self::Malformed => "malformed message",
            Self::Unauthenticated => "not logged in",
            Self::ForbiddenOrigin => "origin not allowed",
            Self::UnknownRoom => "no such room",
            Self::NoLongerAllowed => "no longer allowed in this room",
            Self::ForeignClient => "client id belongs to another user",
            Self::TooManySockets => "too many sockets open for this user",
            Self::RoomUnavailable => "room unavailable",
            Self::UpdateTooCostly => "update took too long to apply",
            Self::RateLimited => "rate limit exceeded",
        }
    }
}

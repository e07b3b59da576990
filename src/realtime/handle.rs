//! How connections reach a room's task: the handle and the commands it carries.

use chatspace_crdt::ClientMessage;
use tokio::sync::{mpsc, oneshot};

use super::socket::Outbound;
use crate::auth::CurrentUser;

/// What a connection can ask of its room.
pub enum Command {
    /// Subscribe: the room sends the greeting (its sync step 1 and the awareness states) into
    /// `out`, then everything the connection should see.
    Join {
        conn: u64,
        user: CurrentUser,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<Result<(), RoomUnavailable>>,
    },
    /// A decoded message from a joined connection.
    Message { conn: u64, message: ClientMessage },
    /// The connection is gone.
    Leave { conn: u64 },
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

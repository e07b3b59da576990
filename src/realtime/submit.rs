//! Edits the server makes on a user's behalf (restoring a version, importing a file): a stand-in
//! connection joins the room as that user and sends the edit, which is then checked, applied,
//! relayed to every connection, logged with its author and published to other nodes like any
//! client's. And reading what clients see from the database: a live room is asked to store
//! everything it has applied first.

use std::time::Duration;

use chatspace_crdt::{ClientMessage, IncomingUpdate};
use tokio::sync::{mpsc, oneshot};

use super::handle::{CloseCode, Command, Outbound, RoomHandle};
use super::registry::Rooms;
use crate::auth::CurrentUser;
use crate::rooms::access::Role;

/// Why the room did not take a server-made update.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the update does not pass the room's checks: {0}")]
    Invalid(#[from] chatspace_crdt::DecodeError),
    #[error("the room is not available")]
    Unavailable,
    #[error("the room refused the update (close code {0})")]
    Refused(u16),
}

/// Frames the room may queue for a stand-in before it counts as fallen behind: it reads none
/// until it has sent its edit, and others may be typing meanwhile.
const STAND_IN_QUEUE: usize = 8_192;

/// How long a flush may take before the caller gives up (the database is then struggling; the
/// room keeps retrying on its own).
const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

/// A connection of the server's own, joined to a room as a user.
pub struct StandIn {
    handle: RoomHandle,
    conn: u64,
    frames: mpsc::Receiver<Outbound>,
    left: bool,
}

impl Rooms {
    /// Returns once every update the room (when it is live on this node) has applied so far is
    /// stored, so that the database holds what its clients see.
    pub async fn flush(&self, room_id: i64) -> Result<(), SubmitError> {
        let Some(handle) = self.live_handle(room_id) else {
            return Ok(());
        };
        let (done, stored) = oneshot::channel();
        if !handle.send(Command::Flush { done }).await {
            return Ok(()); // The room stopped, after storing everything.
        }
        match tokio::time::timeout(FLUSH_DEADLINE, stored).await {
            Ok(_) => Ok(()),
            Err(_) => Err(SubmitError::Unavailable),
        }
    }

    /// Joins the room (loading it if it is not live) with a stand-in connection for `user`.
    pub async fn stand_in(
        &self,
        room_id: i64,
        name: &str,
        user: CurrentUser,
    ) -> Result<StandIn, SubmitError> {
        let handle = self.handle(room_id, name);
        let conn = self.connection_id();
        let (out, frames) = mpsc::channel(STAND_IN_QUEUE);
        let (reply, joined) = oneshot::channel();
        let join = Command::Join {
            conn,
            user,
            role: Role::Editor,
            out,
            reply,
        };
        if !handle.send(join).await || !matches!(joined.await, Ok(Ok(()))) {
            return Err(SubmitError::Unavailable);
        }
        Ok(StandIn {
            handle,
            conn,
            frames,
            left: false,
        })
    }
}

impl StandIn {
    /// Sends `update` (Yjs v1) as the user's edit and leaves; returns once the room has applied
    /// it (or refused it).
    pub async fn submit(mut self, update: Vec<u8>) -> Result<(), SubmitError> {
        let update = IncomingUpdate::check_v1(update)?;
        self.send(ClientMessage::Update(update)).await?;
        self.leave().await?;
        // The room drops its end when the stand-in leaves, after everything sent before it: a
        // refusal is a close among what it sent.
        while let Some(outbound) = self.frames.recv().await {
            if let Outbound::Close(code) = outbound {
                return Err(refusal(code));
            }
        }
        Ok(())
    }

    /// Leaves the room.
    pub async fn leave(&mut self) -> Result<(), SubmitError> {
        self.left = true;
        let leave = Command::Leave { conn: self.conn };
        match self.handle.send(leave).await {
            true => Ok(()),
            false => Err(SubmitError::Unavailable),
        }
    }

    async fn send(&self, message: ClientMessage) -> Result<(), SubmitError> {
        let command = Command::Message {
            conn: self.conn,
            message,
        };
        match self.handle.send(command).await {
            true => Ok(()),
            false => Err(SubmitError::Unavailable),
        }
    }
}

impl Drop for StandIn {
    /// A stand-in given up on (an error on the way) still leaves the room.
    fn drop(&mut self) {
        if !self.left {
            let handle = self.handle.clone();
            let conn = self.conn;
            tokio::spawn(async move { handle.send(Command::Leave { conn }).await });
        }
    }
}

fn refusal(code: CloseCode) -> SubmitError {
    match code {
        CloseCode::TryAgainLater | CloseCode::GoingAway => SubmitError::Unavailable,
        code => SubmitError::Refused(code as u16),
    }
}

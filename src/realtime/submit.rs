//! Updates the server makes on a user's behalf (restoring a version, importing a file): they
//! enter the room as if that user's client had sent them, so they are checked, applied, relayed
//! to every connection, logged with their author and published to other nodes like any other.

use chatspace_crdt::{ClientMessage, IncomingUpdate};
use tokio::sync::{mpsc, oneshot};

use super::handle::{CloseCode, Command, Outbound};
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

/// Frames the room may send the stand-in connection before it leaves (its greeting, and a
/// close if it refuses the update).
const STAND_IN_QUEUE: usize = 64;

impl Rooms {
    /// Applies `update` (Yjs v1) in the room as `user`'s: through a stand-in connection that
    /// joins, sends it and leaves. Returns once the room has applied it (or refused it).
    pub async fn submit_update(
        &self,
        room_id: i64,
        name: &str,
        user: CurrentUser,
        update: Vec<u8>,
    ) -> Result<(), SubmitError> {
        let update = IncomingUpdate::check_v1(update)?;
        let handle = self.handle(room_id, name);
        let conn = self.connection_id();
        let (out, mut frames) = mpsc::channel(STAND_IN_QUEUE);
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
        let message = Command::Message {
            conn,
            message: ClientMessage::Update(update),
        };
        if !handle.send(message).await || !handle.send(Command::Leave { conn }).await {
            return Err(SubmitError::Unavailable);
        }
        // The room drops its end when the stand-in leaves, after everything sent before: a
        // refusal is a close among what it sent.
        while let Some(outbound) = frames.recv().await {
            if let Outbound::Close(code) = outbound {
                return Err(match code {
                    CloseCode::TryAgainLater | CloseCode::GoingAway => SubmitError::Unavailable,
                    code => SubmitError::Refused(code as u16),
                });
            }
        }
        Ok(())
    }
}

//! Work on a room's document runs on tokio's blocking pool, never on the async workers: one
//! update can cost seconds of yrs's time (a quadratic dependency resolution, a bug that spins),
//! and on an async worker that would stall the relay of every other room and even `/healthz`.
//! The room task hands its document to the pool, awaits it with a deadline, and gets it back.
//!
//! Past the deadline the room is unhealthy: the document is still inside the pool's thread, so
//! the room cannot go on. Its task stores what it had applied, closes its sockets and leaves
//! the registry; the next join loads a fresh copy from the database. The thread is left to
//! finish (a thread cannot be stopped from outside) and its result is dropped.

use std::time::Duration;

use chatspace_crdt::RoomDoc;

use super::loading::LoadFailure;
use super::room::LiveRoom;

/// Why a room task stopped serving.
#[derive(Debug, thiserror::Error)]
pub(super) enum RoomFailure {
    /// After a failed update the document could not be reloaded from the database.
    #[error("the document could not be reloaded after a failed update: {0}")]
    Unrecoverable(#[from] LoadFailure),
    /// Work on the document ran past the deadline; the document is lost to this task.
    #[error("work on the document ran past the deadline of {0:?}")]
    Stalled(Duration),
    /// Work on the document panicked outside the CRDT crate's guard; the document is lost.
    #[error("work on the document panicked: {0}")]
    Panicked(String),
}

impl RoomFailure {
    /// The kind, as a metrics label.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            RoomFailure::Unrecoverable(_) => "unrecoverable",
            RoomFailure::Stalled(_) => "stalled",
            RoomFailure::Panicked(_) => "panicked",
        }
    }

    /// Whether the room's document is gone (and so must not be saved).
    pub(super) fn lost_document(&self) -> bool {
        !matches!(self, RoomFailure::Unrecoverable(_))
    }
}

impl LiveRoom {
    /// Runs `work` on the document on the blocking pool, within the configured deadline.
    pub(super) async fn with_doc<R: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut RoomDoc) -> R + Send + 'static,
    ) -> Result<R, RoomFailure> {
        let mut doc = std::mem::take(&mut self.doc);
        let job = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let result = work(&mut doc);
            metrics::histogram!(crate::metrics::DOC_WORK_SECONDS).record(started.elapsed());
            (doc, result)
        });
        let deadline = self.rooms.config().apply_deadline();
        match tokio::time::timeout(deadline, job).await {
            Ok(Ok((doc, result))) => {
                self.doc = doc;
                Ok(result)
            }
            Ok(Err(join)) => Err(RoomFailure::Panicked(join.to_string())),
            Err(_) => Err(RoomFailure::Stalled(deadline)),
        }
    }
}

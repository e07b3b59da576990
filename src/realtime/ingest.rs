//! Ingesting document updates in the room task: applied in order, in batches; relayed to the
//! other connections and queued for the update log; and, when the document refuses one, the
//! room's recovery without disturbing anyone but the sender.

use chatspace_crdt::codec::prepare_batch;
use chatspace_crdt::{
    BatchFailure, ClientMessage, DecodeError, IncomingUpdate, Ingested, RoomDoc,
    MAX_UPDATES_PER_TXN,
};

use super::handle::CloseCode;
use super::handle::Command;
use super::loading::load_room;
use super::offload::RoomFailure;
use super::remote::REMOTE;
use super::room::LiveRoom;
use crate::metrics::Refusal;

/// Updates taken from the queue at once and applied together (the document applies them in
/// transactions of up to 64): small batches are cheaper per update than single ones, giant ones
/// are a cliff (all 260k edits of an editing trace in one transaction took 20x longer than one
/// transaction each).
const APPLY_BATCH: usize = 256;

/// Vectors the room reuses from one batch to the next: in a room that keeps up, most batches
/// hold a single update, and allocating two vectors for each would be a measurable part of it.
#[derive(Default)]
pub(super) struct IngestBuffers {
    batch: Vec<(u64, IncomingUpdate)>,
    ingested: Ingested<u64>,
}

impl LiveRoom {
    /// At shutdown: updates that already reached the room's queue are applied, so the final
    /// save includes them. Everything else still queued is dropped with the connections.
    pub(super) async fn apply_queued_updates(&mut self) -> Result<(), RoomFailure> {
        self.rx.close();
        let mut batch = Vec::new();
        while let Ok(command) = self.rx.try_recv() {
            if let Command::Message {
                conn,
                message: ClientMessage::Update(u) | ClientMessage::SyncStep2(u),
            } = command
            {
                batch.push((conn, u));
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.apply_batch(batch).await
    }

    /// A batch that starts with `first` and takes the update messages waiting behind it, up to
    /// [`APPLY_BATCH`]. Also returns the first other command taken, to be handled next.
    pub(super) fn take_batch(
        &mut self,
        first: (u64, IncomingUpdate),
    ) -> (Vec<(u64, IncomingUpdate)>, Option<Command>) {
        let mut batch = std::mem::take(&mut self.buffers.batch);
        batch.push(first);
        while batch.len() < APPLY_BATCH {
            match self.rx.try_recv() {
                Ok(Command::Message {
                    conn,
                    message: ClientMessage::Update(u) | ClientMessage::SyncStep2(u),
                }) => {
                    batch.push((conn, u));
                }
                Ok(other) => return (batch, Some(other)),
                Err(_) => break,
            }
        }
        (batch, None)
    }

    /// Applies updates in order, on the blocking pool; each one that is now part of the document
    /// is queued for the log and relayed to everyone but its sender. An update yrs does not
    /// decode or the document refuses closes its sender's connection (4400), and the room carries
    /// on (after the latter, it recovers first) without disturbing anyone else. A batch that
    /// runs past the deadline closes its senders with 4413 and ends the room (see `offload`).
    pub(super) async fn apply_batch(
        &mut self,
        batch: Vec<(u64, IncomingUpdate)>,
    ) -> Result<(), RoomFailure> {
        let batch = self.refuse_unstorable(batch);
        let batch = self.refuse_foreign_clients(batch);
        // Empty step 2s dropped, a typist's queued keystrokes merged into one update.
        let mut pending = prepare_batch(batch);
        let mut ingested = std::mem::take(&mut self.buffers.ingested);
        let mut per_txn = MAX_UPDATES_PER_TXN;
        let result = loop {
            let senders: Vec<u64> = pending.iter().map(|(conn, _)| *conn).collect();
            let work = move |doc: &mut RoomDoc| {
                let outcome = doc.apply_updates_into(pending.drain(..), per_txn, &mut ingested);
                (outcome, pending, ingested)
            };
            let outcome;
            (outcome, pending, ingested) = match self.with_doc(work).await {
                Ok(done) => done,
                Err(failure) => {
                    for conn in senders {
                        crate::metrics::refused(Refusal::TooCostly);
                        self.close(conn, CloseCode::UpdateTooCostly);
                    }
                    return Err(failure);
                }
            };
            for a in ingested.applied.drain(..) {
                if a.tag == REMOTE {
                    // Another node's: its node stores it.
                    self.relay_update(None, a.raw, a.frame);
                    continue;
                }
                self.relay_update(Some(a.tag), a.raw.clone(), a.frame);
                let author = self.subscribers.get(&a.tag).map(|sub| sub.user.id);
                self.persistence.push(a.raw, author);
            }
            for refused in ingested.refused.drain(..) {
                if refused.tag == REMOTE {
                    // Another node's update that does not follow on (one before it was lost or
                    // is still on its way): what is stored fills the gap.
                    tracing::info!(error = %refused.error, "an update from another node waits for a catch-up");
                    self.catch_up_soon();
                    continue;
                }
                crate::metrics::refused(Refusal::of_update(&refused.error));
                if let DecodeError::NotFollowingOn { .. } = refused.error {
                    // Client and room disagree about what the room has: resync, do not refuse.
                    tracing::info!(conn = refused.tag, error = %refused.error, "closing a connection to resync");
                    self.close(refused.tag, CloseCode::TryAgainLater);
                } else {
                    self.reject(refused.tag, &refused.error);
                }
            }
            let Err(failure) = outcome else {
                if self.remote.is_some() {
                    // Other nodes get an update once it is stored (see `remote`): no waiting
                    // for the flush tick, the writer groups what queues up meanwhile.
                    self.persistence.hand_over();
                }
                break Ok(());
            };
            // When the failure could not be pinned on one update, the rest goes one update per
            // transaction, so that a repeat names its sender and every retry makes progress.
            if failure.culprit.is_none() {
                per_txn = 1;
            }
            match self.recover(failure).await {
                Ok(retry) => pending = retry,
                Err(failure) => break Err(failure),
            }
        };
        self.buffers = IngestBuffers {
            batch: pending,
            ingested,
        };
        result
    }

    /// While the database lags by more than `--max-unstored-bytes`, updates from this node's
    /// clients are not applied: their senders are closed with 1013 and keep their edits (their
    /// client sends them again when it reconnects), rather than the room holding in memory
    /// without bound what it cannot store. Other nodes' updates are stored already.
    fn refuse_unstorable(
        &mut self,
        batch: Vec<(u64, IncomingUpdate)>,
    ) -> Vec<(u64, IncomingUpdate)> {
        if self.persistence.unstored_bytes() <= self.rooms.config().max_unstored_bytes {
            return batch;
        }
        let (kept, refused): (Vec<_>, Vec<_>) =
            batch.into_iter().partition(|(conn, _)| *conn == REMOTE);
        if !refused.is_empty() {
            tracing::warn!(
                unstored = self.persistence.unstored_bytes(),
                "the database lags too far behind; closing the senders of new updates"
            );
        }
        for (conn, _) in refused {
            self.close(conn, CloseCode::TryAgainLater);
        }
        kept
    }

    /// After an update failed, the document cannot be trusted: store what was applied, reload
    /// the document from the database (which then holds everything the clients were sent), and
    /// return the updates of the batch that still have to be applied, with their senders.
    async fn recover(
        &mut self,
        failure: BatchFailure<u64>,
    ) -> Result<Vec<(u64, IncomingUpdate)>, RoomFailure> {
        if let Some(conn) = failure.culprit {
            crate::metrics::refused(Refusal::RefusedUpdate);
            self.reject(conn, &failure.error);
        }
        self.persistence.settle().await;
        // On failure the room stops: its task logs why and closes every socket with 1013.
        let doc = load_room(self.rooms.store(), self.room_id).await?.doc;
        // Awareness states are not stored: carry them over to the reloaded document.
        let old = std::mem::replace(&mut self.doc, doc);
        self.doc.inherit_awareness(old);
        // Other nodes' updates that arrived while the database was being read went with the old
        // document.
        self.catch_up_soon();
        tracing::warn!(error = %failure.error, retry = failure.retry.len(), "room reloaded after a failed update");
        let mut retry = Vec::with_capacity(failure.retry.len());
        for (conn, raw) in failure.retry {
            match IncomingUpdate::check_v1(raw) {
                Ok(update) => retry.push((conn, update)),
                Err(error) => {
                    crate::metrics::refused(Refusal::of_frame(&error));
                    self.reject(conn, &error);
                }
            }
        }
        Ok(retry)
    }
}

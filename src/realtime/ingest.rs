//! Ingesting document updates in the room task: applied in order, in batches; relayed to the
//! other connections and queued for the update log; and, when the document refuses one, the
//! room's recovery without disturbing anyone but the sender.

use chatspace_crdt::codec::prepare_batch;
use chatspace_crdt::{BatchFailure, ClientMessage, IncomingUpdate};

use super::handle::Command;
use super::room::{load_doc, LiveRoom};
use super::socket::CloseCode;

/// Updates taken from the queue at once and applied together (the document applies them in
/// transactions of up to 64): small batches are cheaper per update than single ones, giant ones
/// are a cliff (shared/PERF-NOTES.md).
const APPLY_BATCH: usize = 256;

impl LiveRoom {
    /// At shutdown: updates that already reached the room's queue are applied, so the final
    /// save includes them. Everything else still queued is dropped with the connections.
    pub(super) async fn apply_queued_updates(&mut self) {
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
        if !batch.is_empty() {
            let _ = self.apply_batch(batch).await;
        }
    }

    /// Moves update messages waiting in the queue into `batch`, up to [`APPLY_BATCH`]. Returns the
    /// first other command taken, to be handled next.
    pub(super) fn take_more_updates(
        &mut self,
        batch: &mut Vec<(u64, IncomingUpdate)>,
    ) -> Option<Command> {
        while batch.len() < APPLY_BATCH {
            match self.rx.try_recv() {
                Ok(Command::Message {
                    conn,
                    message: ClientMessage::Update(u) | ClientMessage::SyncStep2(u),
                }) => {
                    batch.push((conn, u));
                }
                Ok(other) => return Some(other),
                Err(_) => return None,
            }
        }
        None
    }

    /// Applies updates in order; each one that is now part of the document is queued for the log
    /// and relayed to everyone but its sender. An update the document refuses closes its sender's
    /// connection (4400), and the room recovers without disturbing anyone else.
    pub(super) async fn apply_batch(
        &mut self,
        batch: Vec<(u64, IncomingUpdate)>,
    ) -> Result<(), ()> {
        // Empty step 2s dropped, a typist's queued keystrokes merged into one update.
        let (senders, mut pending) = prepare_batch(batch);
        let mut positions: Vec<usize> = (0..pending.len()).collect();
        loop {
            let outcome = self.doc.apply_updates(pending);
            for applied in outcome.applied {
                let Some(&conn) = positions.get(applied.index).and_then(|&i| senders.get(i)) else {
                    continue;
                };
                self.broadcast(Some(conn), applied.frame);
                self.persistence.push(applied.raw);
            }
            let Some(failure) = outcome.failure else {
                return Ok(());
            };
            (pending, positions) = self.recover(failure, &senders, &positions).await?;
        }
    }

    /// After an update failed, the document cannot be trusted: store what was applied, reload
    /// the document from the database (which then holds everything the clients were sent), and
    /// return the updates of the batch that still have to be applied, one per transaction.
    async fn recover(
        &mut self,
        failure: BatchFailure,
        senders: &[u64],
        positions: &[usize],
    ) -> Result<(Vec<IncomingUpdate>, Vec<usize>), ()> {
        let sender_of = |index: usize| positions.get(index).and_then(|&i| senders.get(i)).copied();
        if let Some(conn) = failure.culprit.and_then(sender_of) {
            self.reject(conn, &failure.error);
        }
        let reloaded = match self.persistence.flush().await {
            Ok(()) => match self.rooms.store().load_document(self.room_id).await {
                Ok(stored) => load_doc(&stored),
                Err(error) => Err(error.to_string()),
            },
            Err(error) => Err(error.to_string()),
        };
        let doc = match reloaded {
            Ok(doc) => doc,
            Err(reason) => {
                tracing::error!(
                    reason,
                    "the room could not recover from a failed update; closing it"
                );
                self.close_all(CloseCode::TryAgainLater);
                return Err(());
            }
        };
        // Awareness states are not stored: carry them over to the reloaded document.
        let old = std::mem::replace(&mut self.doc, doc);
        self.doc.inherit_awareness(old);
        tracing::warn!(error = %failure.error, retry = failure.retry.len(), "room reloaded after a failed update");
        let mut retry = Vec::new();
        let mut retry_positions = Vec::new();
        for (index, raw) in failure.retry {
            match IncomingUpdate::decode_v1(raw) {
                Ok(update) => {
                    retry.push(update);
                    retry_positions.push(positions.get(index).copied().unwrap_or(usize::MAX));
                }
                Err(error) => {
                    if let Some(conn) = sender_of(index) {
                        self.reject(conn, &error);
                    }
                }
            }
        }
        Ok((retry, retry_positions))
    }
}

//! A room's persistence, owned by the room task: applied updates wait in memory until the next
//! flush appends them to the update log in one transaction; when the log is long enough, the live
//! document is encoded as a snapshot that replaces the log, also in one transaction. Loading a
//! room is snapshot + log.

use bytes::Bytes;
use chatspace_crdt::{encode_snapshot, RoomDoc, SnapshotFormat};

use crate::store::{Store, StoredDocument};

/// Snapshots are written in v2, 28% smaller than v1 (shared/PERF-NOTES.md); loading reads both.
const SNAPSHOT_FORMAT: SnapshotFormat = SnapshotFormat::V2;

pub struct DocPersistence {
    room_id: i64,
    store: Store,
    /// Updates applied to the document and not stored yet, oldest first.
    pending: Vec<Bytes>,
    /// The sequence number the next stored update gets.
    next_seq: i64,
    /// Updates stored in the log since the last snapshot.
    log_len: u64,
    compact_after: u64,
}

impl DocPersistence {
    /// Picks up where the stored document ends.
    pub fn new(room_id: i64, store: Store, stored: &StoredDocument, compact_after: u64) -> Self {
        Self {
            room_id,
            store,
            pending: Vec::new(),
            next_seq: stored.last_seq + 1,
            log_len: stored.updates.len() as u64,
            compact_after: compact_after.max(1),
        }
    }

    /// Queues an applied update for the next flush.
    pub fn push(&mut self, update: Bytes) {
        self.pending.push(update);
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Appends the pending updates to the log. On failure they stay pending for the next try.
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.store
            .append_updates(self.room_id, self.next_seq, &self.pending)
            .await?;
        let count = self.pending.len();
        self.pending.clear();
        self.next_seq += count as i64;
        self.log_len += count as u64;
        tracing::debug!(count, next_seq = self.next_seq, "updates stored");
        Ok(())
    }

    /// Flushes, then replaces the log by a snapshot of `doc` when the log has grown past the
    /// threshold (or, with `force`, whenever it is not empty).
    pub async fn save(&mut self, doc: &RoomDoc, force: bool) -> Result<(), sqlx::Error> {
        self.flush().await?;
        let due = if force {
            self.log_len > 0
        } else {
            self.log_len >= self.compact_after
        };
        if !due {
            return Ok(());
        }
        // Everything applied is stored now, so the snapshot covers exactly the log up to here.
        let upto_seq = self.next_seq - 1;
        let snapshot = match encode_snapshot(doc, SNAPSHOT_FORMAT) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                // The log still holds everything; compaction waits for a healthy document.
                tracing::error!(%error, "encoding a snapshot failed; the log is kept");
                return Ok(());
            }
        };
        self.store
            .save_snapshot(self.room_id, SNAPSHOT_FORMAT.as_i64(), &snapshot, upto_seq)
            .await?;
        tracing::info!(
            entries = self.log_len,
            bytes = snapshot.len(),
            upto_seq,
            "update log compacted into a snapshot"
        );
        self.log_len = 0;
        Ok(())
    }
}

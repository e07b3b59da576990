//! Queries on `doc_snapshots`, `doc_updates` and `doc_quarantine`: the colabspace of each room
//! as a snapshot plus the log of updates applied since, and the log entries that could no
//! longer be replayed.

use bytes::Bytes;
use sqlx::{QueryBuilder, Sqlite};

use super::Store;
use crate::clock::now_millis;

/// A room's stored snapshot.
#[derive(Debug, Clone)]
pub struct StoredSnapshot {
    /// 1 = Yjs update v1, 2 = Yjs update v2.
    pub format: i64,
    pub data: Vec<u8>,
    /// The last log entry folded into this snapshot.
    pub upto_seq: i64,
}

/// Everything stored for a room's document.
#[derive(Debug, Clone, Default)]
pub struct StoredDocument {
    pub snapshot: Option<StoredSnapshot>,
    /// Log entries after the snapshot, in order.
    pub updates: Vec<Vec<u8>>,
    /// The sequence number of each of `updates`.
    pub seqs: Vec<i64>,
    /// The sequence number of the newest entry (the snapshot's when the log is empty).
    pub last_seq: i64,
}

/// One row of a room's update log to write.
pub trait LogEntry {
    /// The update's bytes (Yjs v1), as the client sent them.
    fn data(&self) -> &[u8];
    /// The user whose connection sent it, when known.
    fn author(&self) -> Option<i64> {
        None
    }
}

impl LogEntry for Bytes {
    fn data(&self) -> &[u8] {
        self
    }
}

impl LogEntry for Vec<u8> {
    fn data(&self) -> &[u8] {
        self
    }
}

/// An applied update and who sent it, as the room task logs it.
#[derive(Debug, Clone)]
pub struct AuthoredUpdate {
    pub data: Bytes,
    pub author_id: Option<i64>,
}

impl LogEntry for AuthoredUpdate {
    fn data(&self) -> &[u8] {
        &self.data
    }
    fn author(&self) -> Option<i64> {
        self.author_id
    }
}

/// A log entry taken out of the log because the room could not replay it.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub seq: i64,
    /// Why it was set aside (the replay error).
    pub reason: String,
}

/// SQLite allows 32,766 bound parameters per statement; five per row leaves room to spare.
const ROWS_PER_INSERT: usize = 5_000;

impl Store {
    /// The snapshot and the log after it.
    pub async fn load_document(&self, room_id: i64) -> sqlx::Result<StoredDocument> {
        let mut conn = self.pool().acquire().await?;
        let snapshot: Option<(i64, Vec<u8>, i64)> =
            sqlx::query_as("SELECT format, data, upto_seq FROM doc_snapshots WHERE room_id = ?")
                .bind(room_id)
                .fetch_optional(&mut *conn)
                .await?;
        let snapshot = snapshot.map(|(format, data, upto_seq)| StoredSnapshot {
            format,
            data,
            upto_seq,
        });
        let after = snapshot.as_ref().map_or(0, |s| s.upto_seq);
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, data FROM doc_updates WHERE room_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(room_id)
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
        let last_seq = rows.last().map_or(after, |(seq, _)| *seq);
        let (seqs, updates) = rows.into_iter().unzip();
        Ok(StoredDocument {
            snapshot,
            updates,
            seqs,
            last_seq,
        })
    }

    /// Appends updates numbered `first_seq`, `first_seq + 1`, … in one transaction.
    pub async fn append_updates<U: LogEntry>(
        &self,
        room_id: i64,
        first_seq: i64,
        updates: &[U],
    ) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        let mut seq = first_seq;
        let now = now_millis();
        for chunk in updates.chunks(ROWS_PER_INSERT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO doc_updates (room_id, seq, data, author_id, stored_at) ",
            );
            insert.push_values(chunk, |mut row, update| {
                row.push_bind(room_id)
                    .push_bind(seq)
                    .push_bind(update.data())
                    .push_bind(update.author())
                    .push_bind(now);
                seq += 1;
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// Replaces the room's snapshot and drops the log entries it covers, in one transaction.
    pub async fn save_snapshot(
        &self,
        room_id: i64,
        format: i64,
        data: &[u8],
        upto_seq: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO doc_snapshots (room_id, format, data, upto_seq, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (room_id) DO UPDATE SET format = excluded.format, data = excluded.data, \
             upto_seq = excluded.upto_seq, updated_at = excluded.updated_at",
        )
        .bind(room_id)
        .bind(format)
        .bind(data)
        .bind(upto_seq)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM doc_updates WHERE room_id = ? AND seq <= ?")
            .bind(room_id)
            .bind(upto_seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Moves log entries into `doc_quarantine` with the reason, in one transaction: the room
    /// loads without them from now on, and an operator can still read them.
    pub async fn quarantine_updates(
        &self,
        room_id: i64,
        entries: &[Quarantined],
    ) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        let now = now_millis();
        for entry in entries {
            sqlx::query(
                "INSERT INTO doc_quarantine \
                 (room_id, seq, data, author_id, stored_at, quarantined_at, reason) \
                 SELECT room_id, seq, data, author_id, stored_at, ?, ? FROM doc_updates \
                 WHERE room_id = ? AND seq = ?",
            )
            .bind(now)
            .bind(&entry.reason)
            .bind(room_id)
            .bind(entry.seq)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM doc_updates WHERE room_id = ? AND seq = ?")
                .bind(room_id)
                .bind(entry.seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}

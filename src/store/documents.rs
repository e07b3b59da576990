//! Queries on `doc_snapshots`, `doc_updates` and `doc_quarantine`: the colabspace of each room
//! as a snapshot plus the log of updates applied since, and the log entries that could no
//! longer be replayed.

use bytes::Bytes;
use sqlx::QueryBuilder;

use super::{with_pool, Pool, Store};
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
    /// When each of `updates` was stored (unix milliseconds; none for rows older than that
    /// column).
    pub stored_at: Vec<Option<i64>>,
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

/// A stored log entry with who sent it and when.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthoredEntry {
    pub seq: i64,
    pub data: Vec<u8>,
    /// The sender's username (none when unknown or the account is gone).
    pub author: Option<String>,
    /// Unix milliseconds (none for rows older than that column).
    pub stored_at: Option<i64>,
}

/// `format, data, upto_seq` of `doc_snapshots`.
type SnapshotRow = (i64, Vec<u8>, i64);
/// `seq, data, stored_at` of `doc_updates`.
type LogRow = (i64, Vec<u8>, Option<i64>);

/// A log entry taken out of the log because the room could not replay it.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub seq: i64,
    /// Why it was set aside (the replay error).
    pub reason: String,
}

/// SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535; five per row leaves
/// room to spare.
const ROWS_PER_INSERT: usize = 5_000;

impl Store {
    /// The snapshot and the log after it.
    pub async fn load_document(&self, room_id: i64) -> sqlx::Result<StoredDocument> {
        // One snapshot of the database for both reads: a snapshot saved between them would
        // otherwise have deleted log entries it covers, leaving a hole. (A SQLite read
        // transaction is one; PostgreSQL's default gives each statement its own.)
        let isolation = match self.pool() {
            Pool::Sqlite(_) => None,
            Pool::Postgres(_) => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
        };
        let (snapshot, rows): (Option<SnapshotRow>, Vec<LogRow>) = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(isolation) = isolation {
                sqlx::query(isolation).execute(&mut *tx).await?;
            }
            let snapshot = sqlx::query_as(
                "SELECT format, data, upto_seq FROM doc_snapshots WHERE room_id = $1",
            )
            .bind(room_id)
            .fetch_optional(&mut *tx)
            .await?;
            let after = snapshot.as_ref().map_or(0, |s: &SnapshotRow| s.2);
            let rows = sqlx::query_as(
                "SELECT seq, data, stored_at FROM doc_updates WHERE room_id = $1 AND seq > $2 ORDER BY seq",
            )
            .bind(room_id)
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (snapshot, rows)
        });
        let snapshot = snapshot.map(|(format, data, upto_seq)| StoredSnapshot {
            format,
            data,
            upto_seq,
        });
        let after = snapshot.as_ref().map_or(0, |s| s.upto_seq);
        let last_seq = rows.last().map_or(after, |(seq, _, _)| *seq);
        let mut stored = StoredDocument {
            snapshot,
            last_seq,
            ..StoredDocument::default()
        };
        for (seq, data, stored_at) in rows {
            stored.seqs.push(seq);
            stored.updates.push(data);
            stored.stored_at.push(stored_at);
        }
        Ok(stored)
    }

    /// The number of the room's newest log entry (0 for none).
    pub async fn log_end(&self, room_id: i64) -> sqlx::Result<i64> {
        let (seq,): (i64,) = with_pool!(self, pool => sqlx::query_as(
            "SELECT doc_seq FROM rooms WHERE id = $1",
        )
        .bind(room_id)
        .fetch_one(pool)
        .await)?;
        Ok(seq)
    }

    /// Appends updates to the room's log in one transaction and returns the sequence number of
    /// the last one. The database numbers them (the room's `doc_seq`, whose row stays locked
    /// until the commit), so that writers on several nodes never pick the same numbers.
    pub async fn append_updates<U: LogEntry>(
        &self,
        room_id: i64,
        updates: &[U],
    ) -> sqlx::Result<i64> {
        let count = i64::try_from(updates.len()).unwrap_or(i64::MAX);
        let now = now_millis();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (last_seq,): (i64,) = sqlx::query_as(
                "UPDATE rooms SET doc_seq = doc_seq + $1 WHERE id = $2 RETURNING doc_seq",
            )
            .bind(count)
            .bind(room_id)
            .fetch_one(&mut *tx)
            .await?;
            let mut seq = last_seq - count;
            for chunk in updates.chunks(ROWS_PER_INSERT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO doc_updates (room_id, seq, data, author_id, stored_at) ",
                );
                insert.push_values(chunk, |mut row, update| {
                    seq += 1;
                    row.push_bind(room_id)
                        .push_bind(seq)
                        .push_bind(update.data())
                        .push_bind(update.author())
                        .push_bind(now);
                });
                insert.build().execute(&mut *tx).await?;
            }
            for (author, seq) in last_entry_per_author(updates, last_seq - count) {
                sqlx::query(
                    "INSERT INTO doc_authors (room_id, user_id, last_seq, last_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (room_id, user_id) \
                     DO UPDATE SET last_seq = excluded.last_seq, last_at = excluded.last_at",
                )
                .bind(room_id)
                .bind(author)
                .bind(seq)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(last_seq)
        })
    }

    /// The room's log entries after `after` up to `upto`, in order, with their author's name
    /// and time: what the time slider steps through. Entries a snapshot has folded in are gone.
    pub async fn log_between(
        &self,
        room_id: i64,
        after: i64,
        upto: i64,
    ) -> sqlx::Result<Vec<AuthoredEntry>> {
        with_pool!(self, pool => sqlx::query_as(
            "SELECT d.seq, d.data, u.username AS author, d.stored_at FROM doc_updates d \
             LEFT JOIN users u ON u.id = d.author_id \
             WHERE d.room_id = $1 AND d.seq > $2 AND d.seq <= $3 ORDER BY d.seq",
        )
        .bind(room_id)
        .bind(after)
        .bind(upto)
        .fetch_all(pool)
        .await)
    }

    /// Stores the room's snapshot and drops the log entries it covers, in one transaction, then
    /// gives the space they took back (SQLite). A snapshot never replaces one that covers more
    /// of the log. `format` is the snapshot's [`chatspace_crdt::SnapshotFormat`] as stored.
    pub async fn save_snapshot(
        &self,
        room_id: i64,
        format: i64,
        data: &[u8],
        upto_seq: i64,
    ) -> sqlx::Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO doc_snapshots (room_id, format, data, upto_seq, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (room_id) DO UPDATE SET format = excluded.format, data = excluded.data, \
                 upto_seq = excluded.upto_seq, updated_at = excluded.updated_at \
                 WHERE doc_snapshots.upto_seq <= excluded.upto_seq",
            )
            .bind(room_id)
            .bind(format)
            .bind(data)
            .bind(upto_seq)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM doc_updates WHERE room_id = $1 AND seq <= $2")
                .bind(room_id)
                .bind(upto_seq)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        self.give_back_free_pages().await;
        Ok(())
    }

    /// On SQLite, returns the file's free pages (those of log entries just deleted) to the file
    /// system: the file shrinks at the next WAL checkpoint. The snapshot is stored already, so a
    /// failure here is only logged (the pages are reused, and the next compaction tries again).
    /// PostgreSQL reuses the space of deleted rows after its autovacuum.
    async fn give_back_free_pages(&self) {
        let Pool::Sqlite(pool) = self.pool() else {
            return;
        };
        if let Err(error) = sqlx::query("PRAGMA incremental_vacuum").execute(pool).await {
            tracing::warn!(%error, "giving free pages back to the file system failed");
        }
    }

    /// Moves log entries into `doc_quarantine` with the reason, in one transaction: the room
    /// loads without them from now on, and an operator can still read them.
    pub async fn quarantine_updates(
        &self,
        room_id: i64,
        entries: &[Quarantined],
    ) -> sqlx::Result<()> {
        let now = now_millis();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for entry in entries {
                sqlx::query(
                    "INSERT INTO doc_quarantine \
                     (room_id, seq, data, author_id, stored_at, quarantined_at, reason) \
                     SELECT room_id, seq, data, author_id, stored_at, $1, $2 FROM doc_updates \
                     WHERE room_id = $3 AND seq = $4",
                )
                .bind(now)
                .bind(&entry.reason)
                .bind(room_id)
                .bind(entry.seq)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM doc_updates WHERE room_id = $1 AND seq = $2")
                    .bind(room_id)
                    .bind(entry.seq)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })
    }
}

/// Each author of `updates` with the number of their last entry, the first entry being numbered
/// `before + 1`. A batch rarely holds more than one or two authors.
fn last_entry_per_author<U: LogEntry>(updates: &[U], before: i64) -> Vec<(i64, i64)> {
    let mut last: Vec<(i64, i64)> = Vec::new();
    for (seq, author) in (before + 1..).zip(updates.iter().map(LogEntry::author)) {
        let Some(author) = author else { continue };
        match last.iter_mut().find(|(a, _)| *a == author) {
            Some(entry) => entry.1 = seq,
            None => last.push((author, seq)),
        }
    }
    last
}

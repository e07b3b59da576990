//! Queries on `throttle_counts`: events counted per subject within a time window, for login
//! throttling and the registration limit. Once a subject's count reaches its limit, the subject
//! is locked for a window. The counts live in the database so that every node sharing it counts
//! together.
//!
//! Taking a count must be atomic across nodes: of many simultaneous events for one subject, no
//! more than the limit may pass. Each subject's row is therefore locked before it is read (an
//! upsert, which on PostgreSQL locks the row it finds or inserts even under READ COMMITTED, and
//! on SQLite takes the database's write lock), and written in the same transaction, so the
//! events for one subject take turns. Rows are locked in the order of their subjects, so two
//! events that share subjects never wait for each other in a cycle.

use std::time::Duration;

use super::{with_pool, Pool, Store};

/// `hits, resets_at, locked_until` of one row.
type CountRow = (i64, i64, Option<i64>);

/// Locks a subject's row, inserting a fresh one when there is none, and reads it. The update
/// changes nothing; it is there for the lock and the `RETURNING`.
const LOCK: &str = "INSERT INTO throttle_counts (subject, hits, resets_at, locked_until) \
     VALUES ($1, 0, $2, NULL) \
     ON CONFLICT (subject) DO UPDATE SET hits = throttle_counts.hits \
     RETURNING hits, resets_at, locked_until";

const WRITE: &str =
    "UPDATE throttle_counts SET hits = $2, resets_at = $3, locked_until = $4 WHERE subject = $1";

/// One statement, so that concurrent give-backs on any node each take one off.
const GIVE_BACK: &str = "UPDATE throttle_counts SET hits = hits - 1, \
     locked_until = CASE WHEN hits - 1 < $2 THEN NULL ELSE locked_until END \
     WHERE subject = $1 AND hits > 0";

const EXPIRED: &str = "resets_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)";

/// A subject's count as [`Store::take_counts`] works on it.
#[derive(Debug, Clone, Copy)]
struct Count {
    hits: i64,
    /// When the count starts over, unless the subject is locked.
    resets_at: i64,
    locked_until: Option<i64>,
}

impl Count {
    fn read((hits, resets_at, locked_until): CountRow, now: i64, window: i64) -> Self {
        let count = Self {
            hits,
            resets_at,
            locked_until,
        };
        if count.locked_until.unwrap_or(count.resets_at) <= now {
            Self {
                hits: 0,
                resets_at: now.saturating_add(window),
                locked_until: None,
            }
        } else {
            count
        }
    }
}

impl Store {
    /// Counts one event for every `(subject, limit)` at unix-millisecond time `now`. When any
    /// subject is locked, nothing is counted and the longest remaining wait is returned
    /// instead. The event that reaches a subject's limit passes and locks it for `window`.
    pub async fn take_counts(
        &self,
        subjects: &[(&str, u32)],
        window: Duration,
        now: i64,
    ) -> sqlx::Result<Result<(), Duration>> {
        let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut subjects = subjects.to_vec();
        subjects.sort_unstable();
        subjects.dedup_by(|a, b| a.0 == b.0);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut counts = Vec::with_capacity(subjects.len());
            for (subject, _) in &subjects {
                let row: CountRow = sqlx::query_as(LOCK)
                    .bind(subject)
                    .bind(now.saturating_add(window))
                    .fetch_one(&mut *tx)
                    .await?;
                counts.push(Count::read(row, now, window));
            }
            let locked_until = counts.iter().filter_map(|c| c.locked_until).max();
            if let Some(until) = locked_until {
                tx.rollback().await?;
                let wait = u64::try_from(until.saturating_sub(now)).unwrap_or(0);
                return Ok(Err(Duration::from_millis(wait)));
            }
            for ((subject, limit), mut count) in subjects.iter().zip(counts) {
                count.hits += 1;
                if count.hits >= i64::from((*limit).max(1)) {
                    count.locked_until = Some(now.saturating_add(window));
                }
                sqlx::query(WRITE)
                    .bind(subject)
                    .bind(count.hits)
                    .bind(count.resets_at)
                    .bind(count.locked_until)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
    }

    /// Takes back one event that [`Store::take_counts`] counted for `subject`, lifting the lock
    /// it set when the count falls below `limit`.
    pub async fn give_back_count(&self, subject: &str, limit: u32) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query(GIVE_BACK)
            .bind(subject)
            .bind(i64::from(limit.max(1)))
            .execute(pool)
            .await
            .map(|_| ()))
    }

    /// Forgets `subject`'s count.
    pub async fn forget_count(&self, subject: &str) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query("DELETE FROM throttle_counts WHERE subject = $1")
            .bind(subject)
            .execute(pool)
            .await
            .map(|_| ()))
    }

    /// Deletes the counts that have expired by `now`; returns how many.
    ///
    /// On PostgreSQL the rows an event holds are skipped (they are either not expired or about
    /// to be written): waiting for them while holding others could close a cycle with an event
    /// waiting for those. SQLite has no row locks.
    pub async fn delete_expired_counts(&self, now: i64) -> sqlx::Result<u64> {
        let sql = match self.pool() {
            Pool::Sqlite(_) => format!("DELETE FROM throttle_counts WHERE {EXPIRED}"),
            Pool::Postgres(_) => format!(
                "DELETE FROM throttle_counts WHERE subject IN \
                 (SELECT subject FROM throttle_counts WHERE {EXPIRED} FOR UPDATE SKIP LOCKED)"
            ),
        };
        with_pool!(self, pool => sqlx::query(&sql)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const MINUTE_MS: i64 = 60_000;

    async fn take(store: &Store, subjects: &[(&str, u32)], now: i64) -> Result<(), Duration> {
        store
            .take_counts(subjects, MINUTE, now)
            .await
            .expect("the database answers")
    }

    #[tokio::test]
    async fn the_event_that_reaches_the_limit_passes_and_locks_the_subject_for_a_window() {
        let (_dir, store) = Store::temporary().await;
        for t in 0..3 {
            assert_eq!(take(&store, &[("a", 3)], t).await, Ok(()));
        }
        assert_eq!(
            take(&store, &[("a", 3)], 1_000).await,
            Err(Duration::from_millis(60_002 - 1_000)),
            "locked for a window from the third event"
        );
        assert_eq!(
            take(&store, &[("b", 3)], 1_000).await,
            Ok(()),
            "other subjects are not affected"
        );
        assert_eq!(take(&store, &[("a", 3)], 60_002).await, Ok(()));
    }

    #[tokio::test]
    async fn a_refused_event_counts_for_none_of_its_subjects() {
        let (_dir, store) = Store::temporary().await;
        take(&store, &[("locked", 1)], 0).await.unwrap();
        assert!(take(&store, &[("free", 2), ("locked", 1)], 1)
            .await
            .is_err());
        take(&store, &[("free", 2)], 2).await.unwrap();
        assert_eq!(
            take(&store, &[("free", 2)], 3).await,
            Ok(()),
            "the refused event was not counted, so this is the second"
        );
        assert!(take(&store, &[("free", 2)], 4).await.is_err());
    }

    #[tokio::test]
    async fn giving_back_lifts_the_lock_the_event_set() {
        let (_dir, store) = Store::temporary().await;
        take(&store, &[("a", 2)], 0).await.unwrap();
        take(&store, &[("a", 2)], 0).await.unwrap();
        assert!(take(&store, &[("a", 2)], 1).await.is_err());
        store.give_back_count("a", 2).await.unwrap();
        assert_eq!(take(&store, &[("a", 2)], 2).await, Ok(()));
        assert!(take(&store, &[("a", 2)], 3).await.is_err());
    }

    #[tokio::test]
    async fn counts_older_than_the_window_are_forgotten() {
        let (_dir, store) = Store::temporary().await;
        take(&store, &[("a", 2)], 0).await.unwrap();
        take(&store, &[("a", 2)], MINUTE_MS).await.unwrap();
        assert_eq!(
            take(&store, &[("a", 2)], MINUTE_MS).await,
            Ok(()),
            "the first event was forgotten"
        );
        assert!(take(&store, &[("a", 2)], MINUTE_MS).await.is_err());
        store.forget_count("a").await.unwrap();
        assert_eq!(take(&store, &[("a", 2)], MINUTE_MS).await, Ok(()));
    }

    #[tokio::test]
    async fn the_sweep_deletes_only_expired_counts() {
        let (_dir, store) = Store::temporary().await;
        take(&store, &[("window-over", 2)], 0).await.unwrap();
        take(&store, &[("lock-over", 1)], 0).await.unwrap();
        take(&store, &[("window-left", 2)], MINUTE_MS - 1)
            .await
            .unwrap();
        take(&store, &[("lock-left", 1)], 1).await.unwrap();
        assert_eq!(store.delete_expired_counts(MINUTE_MS).await.unwrap(), 2);
        assert!(
            take(&store, &[("lock-left", 1)], MINUTE_MS).await.is_err(),
            "a lock that has not passed stays"
        );
        take(&store, &[("window-left", 2)], MINUTE_MS)
            .await
            .unwrap();
        assert!(
            take(&store, &[("window-left", 2)], MINUTE_MS)
                .await
                .is_err(),
            "a count whose window has not passed stays"
        );
    }
}

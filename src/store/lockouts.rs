//! Counts on `throttle_counts` that never lock their subject (the per-account failures, which
//! slow logins down rather than refuse them), and an operator's unlocking of an account.

use std::time::Duration;

use super::{with_pool, Store};

/// Counts one event; a count whose window has passed starts over. Returns the count with it.
const COUNT: &str = "INSERT INTO throttle_counts (subject, hits, resets_at, locked_until) \
     VALUES ($1, 1, $3, NULL) \
     ON CONFLICT (subject) DO UPDATE SET \
     hits = CASE WHEN throttle_counts.resets_at <= $2 THEN 1 ELSE throttle_counts.hits + 1 END, \
     resets_at = CASE WHEN throttle_counts.resets_at <= $2 THEN $3 \
     ELSE throttle_counts.resets_at END, \
     locked_until = NULL \
     RETURNING hits";

impl Store {
    /// Counts one event for `subject` at unix-millisecond time `now`, in a window of `window`
    /// from its first event, and returns how many the window holds now (this one included).
    /// One statement, so that events counted at once on any node each count.
    pub async fn count_event(
        &self,
        subject: &str,
        window: Duration,
        now: i64,
    ) -> sqlx::Result<i64> {
        let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let (hits,): (i64,) = with_pool!(self, pool => sqlx::query_as(COUNT)
            .bind(subject)
            .bind(now)
            .bind(now.saturating_add(window))
            .fetch_one(pool)
            .await)?;
        Ok(hits)
    }

    /// Forgets every count whose subject is `exact` or starts with `prefix`: what an operator's
    /// `user unlock` clears. Compared as text, not with LIKE, whose `_` would match any letter.
    pub async fn forget_counts(&self, exact: &str, prefix: &str) -> sqlx::Result<u64> {
        with_pool!(self, pool => sqlx::query(
            "DELETE FROM throttle_counts WHERE subject = $1 \
             OR substr(subject, 1, length($2)) = $2",
        )
        .bind(exact)
        .bind(prefix)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn events_count_up_within_a_window_and_start_over_after_it() {
        let (_dir, store) = Store::temporary().await;
        for want in 1..=7 {
            assert_eq!(store.count_event("a", MINUTE, 0).await.unwrap(), want);
        }
        assert_eq!(store.count_event("a", MINUTE, 60_000).await.unwrap(), 1);
        assert_eq!(store.count_event("b", MINUTE, 60_000).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn forgetting_takes_the_exact_subject_and_the_prefixed_ones_only() {
        let (_dir, store) = Store::temporary().await;
        for subject in [
            "account:a_b",
            "pair:a_b|1.2.3.4",
            "pair:acb|1.2.3.4",
            "account:a_bc",
        ] {
            store.count_event(subject, MINUTE, 0).await.unwrap();
        }
        assert_eq!(
            store
                .forget_counts("account:a_b", "pair:a_b|")
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store
                .count_event("pair:acb|1.2.3.4", MINUTE, 1)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store.count_event("account:a_bc", MINUTE, 1).await.unwrap(),
            2
        );
    }
}

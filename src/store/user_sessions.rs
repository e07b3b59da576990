//! Queries on `user_sessions`: which user each signed-in session belongs to, so that every
//! session of a user can be ended at once (a password change, the account's deletion, an
//! operator's reset). The session store's own table (`tower_sessions`, in the same database on
//! both backends) keeps its records opaque; this index is written when a session signs in.

use super::{with_pool, Store};
use crate::clock::now_millis;

/// Ends the sessions of user `$1` except session `$2` (none when `$2` is NULL): their records
/// are deleted from the session store, then their index rows. Run in this order, in one
/// transaction.
pub(super) const END_SESSIONS: [&str; 2] = [
    "DELETE FROM tower_sessions WHERE id IN (SELECT session_id FROM user_sessions \
     WHERE user_id = $1 AND ($2 IS NULL OR session_id <> $2))",
    "DELETE FROM user_sessions WHERE user_id = $1 AND ($2 IS NULL OR session_id <> $2)",
];

impl Store {
    /// Records that session `session_id` (as the session store writes it) is signed in as
    /// `user_id`.
    pub async fn index_session(&self, session_id: &str, user_id: i64) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO user_sessions (session_id, user_id, started_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, \
             started_at = excluded.started_at",
        )
        .bind(session_id)
        .bind(user_id)
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Forgets a session that ended (a logout).
    pub async fn forget_session(&self, session_id: &str) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query("DELETE FROM user_sessions WHERE session_id = $1")
            .bind(session_id)
            .execute(pool)
            .await
            .map(|_| ()))
    }

    /// Ends every session of `user_id` but `keep` (every one when `None`): deleted from the
    /// session store, so that no page or socket accepts them any more. The caller closes the
    /// sockets.
    pub async fn end_sessions_of(&self, user_id: i64, keep: Option<&str>) -> sqlx::Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for statement in END_SESSIONS {
                sqlx::query(statement)
                    .bind(user_id)
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })
    }
}

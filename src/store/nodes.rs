//! Queries on `nodes`: the heartbeats of the nodes sharing the database.

use super::{with_pool, Store};
use crate::clock::now_millis;

/// Another node that refreshed its row recently.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Peer {
    pub id: String,
    /// The Redis server and key prefix it uses, empty for none.
    pub bus: String,
}

impl Store {
    /// Records that node `id` is alive now.
    pub async fn node_heartbeat(&self, id: &str, bus: &str, started_at: i64) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO nodes (id, bus, started_at, seen_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET bus = excluded.bus, seen_at = excluded.seen_at",
        )
        .bind(id)
        .bind(bus)
        .bind(started_at)
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// The other nodes seen within the last `within_ms`; rows older than a day are removed.
    pub async fn live_peers(&self, id: &str, within_ms: i64) -> sqlx::Result<Vec<Peer>> {
        let now = now_millis();
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM nodes WHERE seen_at < $1")
                .bind(now - 24 * 3600 * 1000)
                .execute(pool)
                .await?;
            sqlx::query_as("SELECT id, bus FROM nodes WHERE id <> $1 AND seen_at > $2 ORDER BY id")
                .bind(id)
                .bind(now - within_ms)
                .fetch_all(pool)
                .await
        })
    }

    /// Removes node `id`'s row (it is stopping).
    pub async fn node_gone(&self, id: &str) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))
    }
}

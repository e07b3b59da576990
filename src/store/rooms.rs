//! Queries on `rooms`.

use sqlx::FromRow;

use super::{with_pool, Store};
use crate::clock::now_millis;

/// A room as the directory lists it.
#[derive(Debug, Clone, FromRow)]
pub struct RoomSummary {
    pub id: i64,
    pub name: String,
    pub creator: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

const SUMMARY_COLUMNS: &str = "SELECT rooms.id, rooms.name, users.username AS creator, \
     rooms.created_at FROM rooms JOIN users ON users.id = rooms.created_by";

impl Store {
    /// Creates a room; a name taken in any letter case is a unique violation.
    pub async fn insert_room(&self, name: &str, created_by: i64) -> sqlx::Result<i64> {
        let row: (i64,) = with_pool!(self, pool => sqlx::query_as(
            "INSERT INTO rooms (name, created_by, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(created_by)
        .bind(now_millis())
        .fetch_one(pool)
        .await)?;
        Ok(row.0)
    }

    /// The room with this name, whatever its letter case.
    pub async fn room_by_name(&self, name: &str) -> sqlx::Result<Option<RoomSummary>> {
        let sql = format!("{SUMMARY_COLUMNS} WHERE lower(rooms.name) = lower($1)");
        with_pool!(self, pool => sqlx::query_as(&sql).bind(name).fetch_optional(pool).await)
    }

    /// Every room, newest first.
    pub async fn list_rooms(&self, limit: i64) -> sqlx::Result<Vec<RoomSummary>> {
        let sql =
            format!("{SUMMARY_COLUMNS} ORDER BY rooms.created_at DESC, rooms.id DESC LIMIT $1");
        with_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
    }
}

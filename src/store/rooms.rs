//! Queries on `rooms`.

use sqlx::FromRow;

use super::{with_pool, Store};
use crate::clock::now_millis;
use crate::rooms::access::{Role, Visibility};

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
    /// Creates a room with its creator as owner; a name taken in any letter case is a unique
    /// violation.
    pub async fn insert_room(
        &self,
        name: &str,
        created_by: i64,
        visibility: Visibility,
    ) -> sqlx::Result<i64> {
        let now = now_millis();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO rooms (name, created_by, created_at, visibility) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(name)
            .bind(created_by)
            .bind(now)
            .bind(visibility.as_str())
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO room_members (room_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(created_by)
            .bind(Role::Owner.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The room with this name, whatever its letter case.
    pub async fn room_by_name(&self, name: &str) -> sqlx::Result<Option<RoomSummary>> {
        let sql = format!("{SUMMARY_COLUMNS} WHERE lower(rooms.name) = lower($1)");
        with_pool!(self, pool => sqlx::query_as(&sql).bind(name).fetch_optional(pool).await)
    }

    /// Whether the room still exists: tells an open socket whose user may no longer see the
    /// room whether it was deleted (4404) or closed to them (4405).
    pub async fn room_exists(&self, room_id: i64) -> sqlx::Result<bool> {
        let found: Option<(i64,)> = with_pool!(self, pool => sqlx::query_as("SELECT id FROM rooms WHERE id = $1")
            .bind(room_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found.is_some())
    }

    /// Every room, newest first.
    pub async fn list_rooms(&self, limit: i64) -> sqlx::Result<Vec<RoomSummary>> {
        let sql =
            format!("{SUMMARY_COLUMNS} ORDER BY rooms.created_at DESC, rooms.id DESC LIMIT $1");
        with_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
    }
}

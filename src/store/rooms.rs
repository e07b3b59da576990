//! Queries on `rooms`: creating, listing, changing the rules of and deleting rooms.

use sqlx::FromRow;

use super::access::parse;
use super::{with_pool, Pool, Store};
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

/// A room the user is a member of, as the start page lists it.
#[derive(Debug, Clone)]
pub struct MemberRoom {
    pub room: RoomSummary,
    pub visibility: Visibility,
    pub role: Role,
}

/// What a room's rows are removed from when it is deleted, children first (the rest of its
/// rows, `room_members`, go with the room). `room_links` is emptied first of all (see
/// [`Store::delete_room`]).
const ROOM_CHILDREN: [&str; 5] = [
    "messages",
    "doc_updates",
    "doc_snapshots",
    "doc_quarantine",
    "room_members",
];

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
        // SQLite would give a new room the id of the newest room after it was deleted: the id is
        // picked here past every deleted one. PostgreSQL's identity never repeats itself.
        let insert = match self.pool() {
            Pool::Sqlite(_) => {
                "INSERT INTO rooms (id, name, created_by, created_at, visibility) VALUES \
                 (max(coalesce((SELECT max(id) FROM rooms), 0), \
                      coalesce((SELECT max(id) FROM deleted_rooms), 0)) + 1, $1, $2, $3, $4) \
                 RETURNING id"
            }
            Pool::Postgres(_) => {
                "INSERT INTO rooms (name, created_by, created_at, visibility) \
                 VALUES ($1, $2, $3, $4) RETURNING id"
            }
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(insert)
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

    /// The rooms `user_id` is a member of, with their role, newest first.
    pub async fn member_rooms(&self, user_id: i64, limit: i64) -> sqlx::Result<Vec<MemberRoom>> {
        let sql = format!(
            "SELECT rooms.id, rooms.name, users.username, rooms.created_at, rooms.visibility, \
             room_members.role FROM rooms JOIN users ON users.id = rooms.created_by \
             JOIN room_members ON room_members.room_id = rooms.id AND room_members.user_id = $1 \
             {NEWEST_FIRST}"
        );
        let rows: Vec<(i64, String, String, i64, String, String)> = with_pool!(self, pool =>
            sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(id, name, creator, created_at, visibility, role)| {
                Ok(MemberRoom {
                    room: RoomSummary {
                        id,
                        name,
                        creator,
                        created_at,
                    },
                    visibility: parse(&visibility, "rooms.visibility")?,
                    role: parse(&role, "room_members.role")?,
                })
            })
            .collect()
    }

    /// The public rooms `user_id` is not a member of (those are among their own), newest first.
    pub async fn public_rooms(&self, user_id: i64, limit: i64) -> sqlx::Result<Vec<RoomSummary>> {
        let sql = format!(
            "{SUMMARY_COLUMNS} WHERE rooms.visibility = 'public' AND NOT EXISTS \
             (SELECT 1 FROM room_members WHERE room_members.room_id = rooms.id \
              AND room_members.user_id = $1) {NEWEST_FIRST}"
        );
        with_pool!(self, pool => sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(pool).await)
    }

    /// Sets who may find the room and what a non-member may do in a public one.
    pub async fn set_room_rules(
        &self,
        room_id: i64,
        visibility: Visibility,
        default_role: Role,
    ) -> sqlx::Result<()> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE rooms SET visibility = $2, default_role = $3 WHERE id = $1",
        )
        .bind(room_id)
        .bind(visibility.as_str())
        .bind(default_role.as_str())
        .execute(pool)
        .await
        .map(|_| ()))
    }

    /// Deletes the room with its document (log, snapshot, quarantine), chat, memberships and
    /// links, all or nothing, and frees its name. False when it was already gone.
    ///
    /// The links go first, before the room is locked: redeeming a link holds the link's row
    /// and then waits for the room's, so taking them the other way round could deadlock.
    pub async fn delete_room(&self, room_id: i64) -> sqlx::Result<bool> {
        let lock_room = self.room_lock();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM room_links WHERE room_id = $1")
                .bind(room_id)
                .execute(&mut *tx)
                .await?;
            if let Some(lock_room) = lock_room {
                sqlx::query(lock_room).bind(room_id).execute(&mut *tx).await?;
            }
            for table in ROOM_CHILDREN {
                sqlx::query(&format!("DELETE FROM {table} WHERE room_id = $1"))
                    .bind(room_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let deleted = sqlx::query("DELETE FROM rooms WHERE id = $1")
                .bind(room_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !deleted {
                return Ok(false);
            }
            sqlx::query("INSERT INTO deleted_rooms (id, deleted_at) VALUES ($1, $2)")
                .bind(room_id)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}

const NEWEST_FIRST: &str = "ORDER BY rooms.created_at DESC, rooms.id DESC LIMIT $2";

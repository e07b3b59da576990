//! Queries on `room_members`: who is a member of a room and with which role. A room always
//! keeps at least one owner: every change that could take the last one away checks, in its own
//! transaction, that an owner is left, and is undone otherwise.

use super::access::parse;
use super::{with_pool, Store};
use crate::clock::now_millis;
use crate::rooms::access::Role;

/// A member of a room, as the settings page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// Unix milliseconds.
    pub added_at: i64,
}

/// Why a membership change was refused (nothing was changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRefusal {
    /// It would leave the room without an owner.
    LastOwner,
    /// The user is not a member of the room.
    NotMember,
}

const OWNERS_LEFT: &str = "SELECT COUNT(*) FROM room_members WHERE room_id = $1 AND role = 'owner'";

impl Store {
    /// The room's members: owners first, then editors, then viewers, each by name.
    pub async fn members(&self, room_id: i64) -> sqlx::Result<Vec<Member>> {
        let rows: Vec<(i64, String, String, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT users.id, users.username, room_members.role, room_members.added_at \
             FROM room_members JOIN users ON users.id = room_members.user_id \
             WHERE room_members.room_id = $1 \
             ORDER BY CASE room_members.role WHEN 'owner' THEN 0 WHEN 'editor' THEN 1 ELSE 2 END, \
             lower(users.username)",
        )
        .bind(room_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(user_id, username, role, added_at)| {
                Ok(Member {
                    user_id,
                    username,
                    role: parse(&role, "room_members.role")?,
                    added_at,
                })
            })
            .collect()
    }

    /// Makes `user_id` a member of the room with `role`, or gives a member that role. Refused
    /// when it would demote the room's last owner.
    pub async fn set_member_role(
        &self,
        room_id: i64,
        user_id: i64,
        role: Role,
    ) -> sqlx::Result<Result<(), MemberRefusal>> {
        self.change_membership(
            room_id,
            "INSERT INTO room_members (room_id, user_id, role, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role",
            user_id,
            Some(role),
        )
        .await
    }

    /// Removes `user_id` from the room. Refused when they are its last owner or not a member.
    pub async fn remove_member(
        &self,
        room_id: i64,
        user_id: i64,
    ) -> sqlx::Result<Result<(), MemberRefusal>> {
        self.change_membership(
            room_id,
            "DELETE FROM room_members WHERE room_id = $1 AND user_id = $2",
            user_id,
            None,
        )
        .await
    }

    /// Runs `change` (`$1` room, `$2` user, then `$3` role and `$4` now when `role` is given),
    /// then counts the owners left in the same transaction and undoes it when there are none.
    /// Race-free on both backends: on PostgreSQL the room's row is locked first, so two owners
    /// demoting each other at once take turns and the second sees the first's change; on SQLite
    /// the change is the transaction's first statement, a write, which excludes other writers.
    async fn change_membership(
        &self,
        room_id: i64,
        change: &str,
        user_id: i64,
        role: Option<Role>,
    ) -> sqlx::Result<Result<(), MemberRefusal>> {
        let lock_room = self.room_lock();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(lock_room) = lock_room {
                sqlx::query(lock_room).bind(room_id).execute(&mut *tx).await?;
            }
            let mut query = sqlx::query(change).bind(room_id).bind(user_id);
            if let Some(role) = role {
                query = query.bind(role.as_str()).bind(now_millis());
            }
            if query.execute(&mut *tx).await?.rows_affected() == 0 {
                return Ok(Err(MemberRefusal::NotMember));
            }
            let (owners,): (i64,) = sqlx::query_as(OWNERS_LEFT)
                .bind(room_id)
                .fetch_one(&mut *tx)
                .await?;
            if owners == 0 {
                return Ok(Err(MemberRefusal::LastOwner));
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
    }
}

//! Queries on `users`: creating, finding, re-keying and deleting accounts.
//!
//! A deleted account stays as a tombstone row (`deleted_at` set, no password) so that what it
//! wrote keeps an author: its name becomes `deleted user #ID`, which the username rule makes
//! impossible to register, and that is the name every page and frame shows for it. Its old
//! name is free again. Lookups by name never find a tombstone.

use sqlx::FromRow;

use super::{with_pool, Store};
use crate::clock::now_millis;

/// An account as the server sees it.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
}

/// Why an account was not deleted (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionRefusal {
    /// The account is the only owner of these rooms (by name): they would be left without one.
    SoleOwner(Vec<String>),
    /// There is no such (live) account.
    NoSuchUser,
}

/// The rooms `$1` owns alone.
const SOLE_OWNED: &str =
    "SELECT rooms.name FROM room_members m JOIN rooms ON rooms.id = m.room_id \
     WHERE m.user_id = $1 AND m.role = 'owner' AND NOT EXISTS (SELECT 1 FROM room_members o \
     WHERE o.room_id = m.room_id AND o.role = 'owner' AND o.user_id <> $1) \
     ORDER BY lower(rooms.name)";

impl Store {
    /// Inserts a user; a name taken in any letter case is a unique violation.
    pub async fn insert_user(&self, username: &str, password_hash: &str) -> sqlx::Result<i64> {
        let row: (i64,) = with_pool!(self, pool => sqlx::query_as(
            "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now_millis())
        .fetch_one(pool)
        .await)?;
        Ok(row.0)
    }

    /// The (live) user with this name, whatever its letter case.
    pub async fn user_by_name(&self, username: &str) -> sqlx::Result<Option<User>> {
        with_pool!(self, pool => sqlx::query_as(
            "SELECT id, username, password_hash FROM users \
             WHERE lower(username) = lower($1) AND deleted_at IS NULL",
        )
        .bind(username)
        .fetch_optional(pool)
        .await)
    }

    /// The (live) user with this id.
    pub async fn user_by_id(&self, id: i64) -> sqlx::Result<Option<User>> {
        with_pool!(self, pool => sqlx::query_as(
            "SELECT id, username, password_hash FROM users WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)
    }

    /// Replaces the user's password hash; false when there is no such live user.
    pub async fn set_password_hash(&self, id: i64, password_hash: &str) -> sqlx::Result<bool> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET password_hash = $2 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(password_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1))
    }

    /// The names of the rooms the user is the only owner of.
    pub async fn rooms_owned_alone(&self, user_id: i64) -> sqlx::Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, pool => sqlx::query_as(SOLE_OWNED)
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// Deletes the account: refused while it is the only owner of a room. Otherwise, in one
    /// transaction, its memberships go, every session of it is deleted from the session store,
    /// and the row becomes a tombstone (see the module's doc). The caller closes its sockets.
    pub async fn delete_user(&self, user_id: i64) -> sqlx::Result<Result<(), DeletionRefusal>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // The first write: on PostgreSQL it locks the row, on SQLite the database, so that
            // an owner added or removed meanwhile is seen by the check below.
            let found = sqlx::query(
                "UPDATE users SET deleted_at = $2, password_hash = '', \
                 username = 'deleted user #' || CAST(id AS TEXT) \
                 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(user_id)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
            if found.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(Err(DeletionRefusal::NoSuchUser));
            }
            let sole: Vec<(String,)> = sqlx::query_as(SOLE_OWNED)
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
            if !sole.is_empty() {
                tx.rollback().await?;
                let names = sole.into_iter().map(|(name,)| name).collect();
                return Ok(Err(DeletionRefusal::SoleOwner(names)));
            }
            sqlx::query("DELETE FROM room_members WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for statement in super::user_sessions::END_SESSIONS {
                sqlx::query(statement)
                    .bind(user_id)
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
    }
}

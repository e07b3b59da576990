//! Queries on `users`.

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

    /// The user with this name, whatever its letter case.
    pub async fn user_by_name(&self, username: &str) -> sqlx::Result<Option<User>> {
        with_pool!(self, pool => sqlx::query_as(
            "SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)",
        )
        .bind(username)
        .fetch_optional(pool)
        .await)
    }
}

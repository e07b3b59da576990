//! Queries on `doc_client_owners`: which user owns each Yjs client id of a room.

use sqlx::QueryBuilder;

use super::{with_pool, Store};
use crate::clock::now_millis;

/// Yjs client ids are unsigned; the column is a signed 64-bit number (the same bits).
fn column(client: u64) -> i64 {
    client as i64
}

impl Store {
    /// Every owned client id of the room with its owner's user id.
    pub async fn client_owners(&self, room_id: i64) -> sqlx::Result<Vec<(u64, i64)>> {
        let rows: Vec<(i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT client_id, user_id FROM doc_client_owners WHERE room_id = $1",
        )
        .bind(room_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(c, u)| (c as u64, u)).collect())
    }

    /// Every owned client id of the room with its owner's name (none for a deleted account).
    pub async fn client_authors(&self, room_id: i64) -> sqlx::Result<Vec<(u64, String)>> {
        let rows: Vec<(i64, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT o.client_id, u.username FROM doc_client_owners o \
             JOIN users u ON u.id = o.user_id WHERE o.room_id = $1",
        )
        .bind(room_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(c, u)| (c as u64, u)).collect())
    }

    /// Records the owners of client ids first written under; an id someone already owns keeps
    /// its owner.
    pub async fn claim_clients(&self, room_id: i64, claims: &[(u64, i64)]) -> sqlx::Result<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let now = now_millis();
        with_pool!(self, pool => {
            let mut insert = QueryBuilder::new(
                "INSERT INTO doc_client_owners (room_id, client_id, user_id, claimed_at) ",
            );
            insert.push_values(claims, |mut row, &(client, user)| {
                row.push_bind(room_id)
                    .push_bind(column(client))
                    .push_bind(user)
                    .push_bind(now);
            });
            insert.push(" ON CONFLICT (room_id, client_id) DO NOTHING");
            insert.build().execute(pool).await.map(|_| ())
        })
    }
}

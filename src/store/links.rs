//! Queries on `room_links`: share links that make whoever opens them a member of a room. Only
//! the SHA-256 hash of a link's token is stored, so a copy of the database opens no room.

use super::access::parse;
use super::{with_pool, Store};
use crate::rooms::access::Role;

/// A link to create.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    pub room_id: i64,
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    pub role: Role,
    pub created_by: i64,
    pub created_at: i64,
    /// Unix milliseconds; `None` for never.
    pub expires_at: Option<i64>,
    /// `None` for unlimited.
    pub max_uses: Option<i64>,
}

/// A room's link, as the settings page lists it (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub id: i64,
    pub role: Role,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub revoked_at: Option<i64>,
}

/// Why a link let nobody in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No link has this token (or its room was deleted).
    Unknown,
    Revoked,
    Expired,
    UsedUp,
}

/// A redeemed link: the user is a member of the room with `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redeemed {
    pub room_id: i64,
    /// The user's role now: the link's, or the higher one they already had.
    pub role: Role,
    /// Whether their membership changed (it did not when they already had the role or more;
    /// the link's use is then not counted either).
    pub changed: bool,
}

/// `revoked_at`, `expires_at`, `max_uses`, `uses` of a link.
type LinkState = (Option<i64>, Option<i64>, Option<i64>, i64);

/// The link is usable at `$2` (unix milliseconds).
const USABLE: &str = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
     AND (max_uses IS NULL OR uses < max_uses)";

impl Store {
    pub async fn insert_link(&self, link: &NewLink<'_>) -> sqlx::Result<i64> {
        let (id,): (i64,) = with_pool!(self, pool => sqlx::query_as(
            "INSERT INTO room_links (room_id, token_hash, role, created_by, created_at, \
             expires_at, max_uses) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(link.room_id)
        .bind(link.token_hash)
        .bind(link.role.as_str())
        .bind(link.created_by)
        .bind(link.created_at)
        .bind(link.expires_at)
        .bind(link.max_uses)
        .fetch_one(pool)
        .await)?;
        Ok(id)
    }

    /// The room's links, newest first.
    pub async fn room_links(&self, room_id: i64) -> sqlx::Result<Vec<LinkRow>> {
        type Row = (
            i64,
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = with_pool!(self, pool => sqlx::query_as(
            "SELECT room_links.id, room_links.role, users.username, room_links.created_at, \
             room_links.expires_at, room_links.max_uses, room_links.uses, room_links.revoked_at \
             FROM room_links JOIN users ON users.id = room_links.created_by \
             WHERE room_links.room_id = $1 ORDER BY room_links.id DESC",
        )
        .bind(room_id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(
                |(id, role, created_by, created_at, expires_at, max_uses, uses, revoked_at)| {
                    Ok(LinkRow {
                        id,
                        role: parse(&role, "room_links.role")?,
                        created_by,
                        created_at,
                        expires_at,
                        max_uses,
                        uses,
                        revoked_at,
                    })
                },
            )
            .collect()
    }

    /// Revokes the room's link `link_id` at `now`. False when the room has no such link or it
    /// was revoked already.
    pub async fn revoke_link(&self, room_id: i64, link_id: i64, now: i64) -> sqlx::Result<bool> {
        let revoked = with_pool!(self, pool => sqlx::query(
            "UPDATE room_links SET revoked_at = $3 \
             WHERE room_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(room_id)
        .bind(link_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1))?;
        Ok(revoked)
    }

    /// Makes `user_id` a member through the link whose token hashes to `token_hash`, if it is
    /// usable at `now`; never lowers a role they already have.
    ///
    /// The use is counted by one conditional UPDATE, the transaction's first statement: on
    /// PostgreSQL concurrent redeemers of the link queue on its row and each re-checks the
    /// count, on SQLite the write excludes other writers; either way `max_uses` holds.
    pub async fn redeem_link(
        &self,
        token_hash: &[u8],
        user_id: i64,
        now: i64,
    ) -> sqlx::Result<Result<Redeemed, LinkRefusal>> {
        let counted = format!(
            "UPDATE room_links SET uses = uses + 1 WHERE token_hash = $1 AND {USABLE} \
             RETURNING room_id, role"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let used: Option<(i64, String)> = sqlx::query_as(&counted)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((room_id, role)) = used else {
                drop(tx);
                return Ok(Err(self.link_refusal(token_hash, now).await?));
            };
            let role: Role = parse(&role, "room_links.role")?;
            let had: Option<(String,)> = sqlx::query_as(
                "SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2",
            )
            .bind(room_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((had,)) = had {
                let had: Role = parse(&had, "room_members.role")?;
                if had >= role {
                    // Dropping the transaction takes the use back.
                    return Ok(Ok(Redeemed { room_id, role: had, changed: false }));
                }
            }
            sqlx::query(
                "INSERT INTO room_members (room_id, user_id, role, added_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(room_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Ok(Redeemed { room_id, role, changed: true }))
        })
    }

    /// Why the link with this token hash is not usable at `now`.
    async fn link_refusal(&self, token_hash: &[u8], now: i64) -> sqlx::Result<LinkRefusal> {
        let row: Option<LinkState> = with_pool!(self, pool => sqlx::query_as(
                "SELECT revoked_at, expires_at, max_uses, uses FROM room_links WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        Ok(match row {
            None => LinkRefusal::Unknown,
            Some((Some(_), _, _, _)) => LinkRefusal::Revoked,
            Some((None, Some(expires_at), _, _)) if expires_at <= now => LinkRefusal::Expired,
            Some((None, _, Some(max_uses), uses)) if uses >= max_uses => LinkRefusal::UsedUp,
            // A link never becomes usable again, so this is not reached; were it, the link let
            // nobody in a moment ago, which is what used up says.
            Some(_) => LinkRefusal::UsedUp,
        })
    }
}

//! Queries on `doc_versions`, `doc_version_authors` and `doc_authors`: the saved versions of each
//! room's text and who contributed to them.

use sqlx::FromRow;

use super::{with_pool, Store};
use crate::clock::now_millis;

/// Why a version was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionKind {
    /// Editing went quiet, or went on for a while.
    Auto,
    /// Someone saved it by hand, usually with a name; kept until deleted.
    Named,
    /// The text just before a restore replaced it.
    BeforeRestore,
    /// The text just before an import replaced it.
    BeforeImport,
}

impl VersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Auto => "auto",
            VersionKind::Named => "named",
            VersionKind::BeforeRestore => "before_restore",
            VersionKind::BeforeImport => "before_import",
        }
    }
}

/// A version to save.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    pub room_id: i64,
    pub kind: VersionKind,
    pub name: Option<&'a str>,
    pub created_by: Option<i64>,
    /// The room's log position the state covers.
    pub upto_seq: i64,
    pub text: &'a str,
    /// The whole document as one Yjs v1 update.
    pub state: &'a [u8],
}

/// A version as the history list shows it.
#[derive(Debug, Clone, FromRow)]
pub struct VersionSummary {
    pub id: i64,
    pub kind: String,
    pub name: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Who saved it by hand (none for automatic versions, or a deleted account).
    pub created_by: Option<String>,
    /// Characters of text.
    pub size: i64,
    #[sqlx(skip)]
    pub authors: Vec<String>,
}

/// A version with its content.
#[derive(Debug, Clone)]
pub struct Version {
    pub summary: VersionSummary,
    pub upto_seq: i64,
    pub text: String,
    pub state: Vec<u8>,
}

/// A room with edits no version covers yet.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct Unversioned {
    pub room_id: i64,
    /// When its last edit was stored (unix milliseconds).
    pub last_edit_at: i64,
}

/// The columns of a [`VersionSummary`], and where they come from.
const SUMMARY_FIELDS: &str =
    "v.id, v.kind, v.name, v.created_at, u.username AS created_by, v.chars AS size";
const FROM_VERSIONS: &str = "FROM doc_versions v LEFT JOIN users u ON u.id = v.created_by";

/// A version's row as [`Store::version`] reads it: the summary and the compressed content.
#[derive(FromRow)]
struct VersionRow {
    #[sqlx(flatten)]
    summary: VersionSummary,
    upto_seq: i64,
    text_z: Vec<u8>,
    state_z: Vec<u8>,
}

impl Store {
    /// Saves a version, naming as its authors those who wrote to the room's log after the
    /// version before it. An automatic version of a log position that has one already (another
    /// node saved it first) is not saved again: `None`.
    pub async fn insert_version(&self, version: &NewVersion<'_>) -> sqlx::Result<Option<i64>> {
        let text = deflate(version.text.as_bytes())?;
        let state = deflate(version.state)?;
        let inserted: sqlx::Result<i64> = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO doc_versions \
                 (room_id, kind, name, created_at, created_by, upto_seq, chars, text, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(version.room_id)
            .bind(version.kind.as_str())
            .bind(version.name)
            .bind(now_millis())
            .bind(version.created_by)
            .bind(version.upto_seq)
            .bind(i64::try_from(version.text.chars().count()).unwrap_or(i64::MAX))
            .bind(&text)
            .bind(&state)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO doc_version_authors (version_id, user_id) \
                 SELECT $1, user_id FROM doc_authors WHERE room_id = $2 AND last_seq <= $3 \
                 AND last_seq > COALESCE((SELECT MAX(upto_seq) FROM doc_versions \
                     WHERE room_id = $2 AND upto_seq < $3), 0)",
            )
            .bind(id)
            .bind(version.room_id)
            .bind(version.upto_seq)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        });
        match inserted {
            Ok(id) => Ok(Some(id)),
            Err(e) if version.kind == VersionKind::Auto && super::is_unique_violation(&e) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The room's versions, newest first.
    pub async fn list_versions(
        &self,
        room_id: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<VersionSummary>> {
        let sql = format!(
            "SELECT {SUMMARY_FIELDS} {FROM_VERSIONS} WHERE v.room_id = $1 \
             ORDER BY v.created_at DESC, v.id DESC LIMIT $2"
        );
        let mut versions: Vec<VersionSummary> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(room_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        let authors: Vec<(i64, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT a.version_id, u.username FROM doc_version_authors a \
             JOIN doc_versions v ON v.id = a.version_id JOIN users u ON u.id = a.user_id \
             WHERE v.room_id = $1 ORDER BY lower(u.username)",
        )
        .bind(room_id)
        .fetch_all(pool)
        .await)?;
        for (version_id, username) in authors {
            if let Some(v) = versions.iter_mut().find(|v| v.id == version_id) {
                v.authors.push(username);
            }
        }
        Ok(versions)
    }

    /// One version of the room with its text and state.
    pub async fn version(&self, room_id: i64, id: i64) -> sqlx::Result<Option<Version>> {
        let sql = format!(
            "SELECT {SUMMARY_FIELDS}, v.upto_seq, v.text AS text_z, v.state AS state_z \
             {FROM_VERSIONS} WHERE v.room_id = $1 AND v.id = $2"
        );
        let row: Option<VersionRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(room_id)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        let Some(VersionRow {
            mut summary,
            upto_seq,
            text_z,
            state_z,
        }) = row
        else {
            return Ok(None);
        };
        summary.authors = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT u.username FROM doc_version_authors a JOIN users u ON u.id = a.user_id \
             WHERE a.version_id = $1 ORDER BY lower(u.username)",
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        let text = String::from_utf8(inflate(&text_z)?).map_err(|e| decode_error("text", e))?;
        Ok(Some(Version {
            summary,
            upto_seq,
            text,
            state: inflate(&state_z)?,
        }))
    }

    /// Rooms whose log has entries after their newest version, with when they were last
    /// edited; at most `limit`, those edited longest ago first.
    pub async fn unversioned_rooms(&self, limit: i64) -> sqlx::Result<Vec<Unversioned>> {
        with_pool!(self, pool => sqlx::query_as(
            "SELECT r.id AS room_id, a.last_at AS last_edit_at \
             FROM rooms r \
             JOIN (SELECT room_id, MAX(last_at) AS last_at FROM doc_authors GROUP BY room_id) a \
                 ON a.room_id = r.id \
             LEFT JOIN (SELECT room_id, MAX(upto_seq) AS upto \
                 FROM doc_versions GROUP BY room_id) v ON v.room_id = r.id \
             WHERE r.doc_seq > COALESCE(v.upto, 0) ORDER BY a.last_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await)
    }

    /// Deletes the versions that were not saved by hand and are older than `before` (unix
    /// milliseconds); returns how many.
    pub async fn expire_versions(&self, before: i64) -> sqlx::Result<u64> {
        let done = with_pool!(self, pool => sqlx::query(
            "DELETE FROM doc_versions WHERE kind <> 'named' AND created_at < $1",
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}

fn deflate(bytes: &[u8]) -> sqlx::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

fn inflate(bytes: &[u8]) -> sqlx::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| decode_error("a compressed column", e))?;
    Ok(out)
}

fn decode_error(what: &str, error: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("doc_versions {what}"),
        source: Box::new(error),
    }
}

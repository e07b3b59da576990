//! The database: an embedded SQLite file (the default) or a PostgreSQL server that several nodes
//! share, chosen by the URL's scheme. The schema comes from the backend's own migrations
//! (`migrations/sqlite/`, `migrations/postgres/`), applied at start. `Store` is the one seam
//! between the server and its storage; each table family has its own file with the queries that
//! touch it, written once for both backends (`$1`-style parameters, which SQLite reads too).

mod access;
mod documents;
mod links;
mod lockouts;
mod members;
mod message_edits;
mod messages;
mod nodes;
mod owners;
mod rooms;
mod sessions;
mod throttle;
mod user_sessions;
mod users;
mod versions;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, PgPool, SqlitePool};

pub use documents::{
    AuthoredEntry, AuthoredUpdate, LogEntry, Quarantined, StoredDocument, StoredSnapshot,
};
pub use links::{LinkRefusal, LinkRow, NewLink, Redeemed};
pub use members::{Member, MemberRefusal};
pub use message_edits::{ChangeOutcome, MessageChange};
pub use messages::{MessageRow, NewMessage};
pub use nodes::Peer;
pub use rooms::{MemberRoom, RoomSummary};
pub use sessions::SessionStorage;
pub use users::{DeletionRefusal, User};
pub use versions::{NewVersion, Unversioned, Version, VersionKind, VersionSummary};

/// Connections per node. SQLite serialises writers through its own lock anyway; on PostgreSQL
/// this is what one node may hold of the server's `max_connections` (100 by default).
const MAX_CONNECTIONS: u32 = 8;
/// How long a query waits for a free connection before it fails (and its writer retries).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The backend's connection pool.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's own pool type: one query text, compiled for
/// each backend, with no conversion layer in between.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.pool() {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Cheap-to-clone handle on the database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Opens the database at `url` (`sqlite://...`, created when missing, or `postgres://...`)
    /// and applies pending migrations. Several nodes may start at once on one PostgreSQL
    /// database: the migrator holds an advisory lock while it applies them.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = if is_postgres(url) {
            Pool::Postgres(connect_postgres(url).await?)
        } else {
            Pool::Sqlite(connect_sqlite(url).await?)
        };
        let store = Self { pool };
        let migrated = match &store.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Pool::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        };
        migrated.context("failed to apply database migrations")?;
        Ok(store)
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// `sqlite` or `postgres`, for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// The statement that, first in a transaction, makes every other transaction that changes
    /// the room (`$1`: its id) wait for this one, or `None` on SQLite, where the first write of a
    /// transaction already excludes every other writer until it ends.
    pub(crate) fn room_lock(&self) -> Option<&'static str> {
        match self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(_) => Some("SELECT id FROM rooms WHERE id = $1 FOR UPDATE"),
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Closes every connection (on SQLite after checkpointing the WAL into the main file).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => {
                if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                {
                    tracing::warn!(%error, "WAL checkpoint at shutdown failed");
                }
                pool.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod space_tests;

#[cfg(test)]
impl Store {
    /// A store on a fresh SQLite file, removed with the returned folder.
    pub async fn temporary() -> (tempfile::TempDir, Self) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("chatspace.db").display());
        let store = Self::connect(&url).await.expect("the database opens");
        (dir, store)
    }
}

/// Whether `url` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

async fn connect_sqlite(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid database URL {url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; a power cut can lose the
        // last transactions, never corrupt the file (https://sqlite.org/wal.html).
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        // Free pages (a compacted update log's) go back to the file system when the writer asks
        // (`Store::save_snapshot`); set before any table exists, so a new file starts with it.
        .auto_vacuum(SqliteAutoVacuum::Incremental);
    switch_to_incremental_vacuum(&options).await?;
    SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .with_context(|| format!("failed to open the database {url}"))
}

/// Switches a SQLite file created before incremental auto-vacuum (mode 0, none) to it. SQLite
/// changes the mode of a file that has tables only with a `VACUUM`, which rewrites the whole file:
/// done once, at the first start after the upgrade, on a connection of its own before the pool
/// opens any (a connection opened earlier could go on believing the file has none). A new file
/// gets the mode from the connect options before its first table, so it needs no VACUUM.
async fn switch_to_incremental_vacuum(options: &SqliteConnectOptions) -> anyhow::Result<()> {
    /// `PRAGMA auto_vacuum`'s value for INCREMENTAL.
    const INCREMENTAL: i64 = 2;
    let mut conn = options
        .connect()
        .await
        .context("failed to open the database")?;
    let (mode,): (i64,) = sqlx::query_as("PRAGMA auto_vacuum")
        .fetch_one(&mut conn)
        .await
        .context("failed to read the database's auto_vacuum mode")?;
    if mode != INCREMENTAL {
        tracing::info!(
            mode,
            "switching the SQLite file to incremental auto-vacuum: one VACUUM, which rewrites the file"
        );
        sqlx::query("VACUUM")
            .execute(&mut conn)
            .await
            .context("failed to VACUUM the database into incremental auto-vacuum")?;
        tracing::info!("the SQLite file now gives back free space after compactions");
    }
    conn.close().await?;
    Ok(())
}

async fn connect_postgres(url: &str) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| "invalid database URL (postgres://user:password@host:port/database)")?
        .application_name("chatspace");
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        // The URL may hold a password: name only where it points.
        .with_context(|| format!("failed to connect to PostgreSQL at {}", redacted(url)))
}

/// `url` without its user and password, for logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest
        .get(..authority_end)
        .and_then(|authority| authority.rfind('@'))
    {
        Some(at) => format!("{scheme}://{}", rest.get(at + 1..).unwrap_or_default()),
        None => url.to_owned(),
    }
}

/// Whether `error` is a violation of a UNIQUE constraint (a name that is taken).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_logged_url_names_the_server_but_not_the_password() {
        assert_eq!(
            redacted("postgres://chat:s3cret@db.internal:5432/chatspace"),
            "postgres://db.internal:5432/chatspace"
        );
        assert_eq!(
            redacted("postgres://db.internal/chatspace?options=a@b"),
            "postgres://db.internal/chatspace?options=a@b"
        );
    }
}

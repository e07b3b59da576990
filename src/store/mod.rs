//! The database: one SQLite file in WAL mode, with the schema from `migrations/` applied at start.
//! `Store` is the one seam between the server and its storage; each table family has its own
//! file with the queries that touch it.

mod documents;
mod messages;
mod rooms;
mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use documents::{AuthoredUpdate, LogEntry, Quarantined, StoredDocument, StoredSnapshot};
pub use messages::{MessageRow, NewMessage};
pub use rooms::RoomSummary;
pub use users::User;

/// Cheap-to-clone handle on the database.
#[derive(Clone, Debug)]
pub struct Store {
    /// The pool serialises writers through SQLite's own lock; the busy timeout makes them wait.
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating when missing) the database at `url` and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid database URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; a power cut can lose the
            // last transactions, never corrupt the file (https://sqlite.org/wal.html).
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open the database {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("failed to apply database migrations")?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Closes every connection, after checkpointing the WAL into the main file.
    pub async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint at shutdown failed");
        }
        self.pool.close().await;
    }
}

/// Whether `error` is a violation of a UNIQUE constraint (a name that is taken).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

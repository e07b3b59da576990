//! Where sessions live: in the same database as everything else, so that a cookie one node
//! issued is valid on every node that shares the PostgreSQL database.

use anyhow::Context;
use time::OffsetDateTime;
use tower_sessions::session::Id;
use tower_sessions::{session_store, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::{Pool, Store};

/// The session store of the backend in use.
#[derive(Clone, Debug)]
pub enum SessionStorage {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionStorage {
    /// The session table next to the rest of the data. On SQLite the store creates it; on
    /// PostgreSQL the migrations did (nodes starting at once would otherwise race to create it),
    /// in the connection's current schema.
    pub async fn open(store: &Store) -> anyhow::Result<Self> {
        match store.pool() {
            Pool::Sqlite(pool) => {
                let sessions = SqliteStore::new(pool.clone());
                sessions
                    .migrate()
                    .await
                    .context("failed to create the session table")?;
                Ok(Self::Sqlite(sessions))
            }
            Pool::Postgres(pool) => {
                let (schema,): (String,) = sqlx::query_as("SELECT current_schema()")
                    .fetch_one(pool)
                    .await
                    .context("failed to read the database's current schema")?;
                let sessions = PostgresStore::new(pool.clone())
                    .with_schema_name(&schema)
                    .and_then(|store| store.with_table_name("tower_sessions"))
                    .map_err(|error| {
                        anyhow::anyhow!("cannot keep sessions in {schema:?}: {error}")
                    })?;
                Ok(Self::Postgres(sessions))
            }
        }
    }
}

impl SessionStorage {
    /// When the stored session `id` expires, or `None` when it is gone (logged out, expired,
    /// deleted): what an open socket checks to know whether its session still stands.
    pub async fn expiry(&self, id: &Id) -> session_store::Result<Option<OffsetDateTime>> {
        let record = match self {
            Self::Sqlite(store) => store.load(id).await?,
            Self::Postgres(store) => store.load(id).await?,
        };
        Ok(record.map(|record| record.expiry_date))
    }
}

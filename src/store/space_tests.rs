//! The SQLite file on disk: a compacted update log gives its space back without a manual
//! VACUUM, and a file from before incremental auto-vacuum is switched to it at start.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use super::{Pool, Store};
use crate::rooms::access::Visibility;

/// Bytes of the main file and its WAL after a checkpoint (what SQLite also does on its own once
/// the WAL holds 1,000 pages).
async fn file_bytes(store: &Store, path: &Path) -> u64 {
    let Pool::Sqlite(pool) = store.pool() else {
        panic!("these tests run on SQLite");
    };
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await
        .expect("checkpoints");
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    size(path) + size(&path.with_extension("db-wal"))
}

async fn auto_vacuum_mode(store: &Store) -> i64 {
    let Pool::Sqlite(pool) = store.pool() else {
        panic!("these tests run on SQLite");
    };
    let (mode,): (i64,) = sqlx::query_as("PRAGMA auto_vacuum")
        .fetch_one(pool)
        .await
        .expect("reads the mode");
    mode
}

async fn room(store: &Store, name: &str) -> i64 {
    let user = store.insert_user(name, "hash").await.expect("a user");
    store
        .insert_room(name, user, Visibility::Public)
        .await
        .expect("a room")
}

#[tokio::test]
async fn a_compacted_log_gives_its_space_back_to_the_file_system() {
    let (dir, store) = Store::temporary().await;
    let path = dir.path().join("chatspace.db");
    assert_eq!(auto_vacuum_mode(&store).await, 2, "incremental");
    let room_id = room(&store, "ada").await;
    let snapshot = vec![7u8; 20_000];

    // The same room compacted right away: the file the live data needs.
    let (reference_dir, reference) = Store::temporary().await;
    let reference_room = room(&reference, "ada").await;
    reference
        .save_snapshot(reference_room, 3, &snapshot, 1)
        .await
        .expect("stores");
    let live = file_bytes(&reference, &reference_dir.path().join("chatspace.db")).await;

    let updates: Vec<Vec<u8>> = (0..20_000u32).map(|i| i.to_le_bytes().repeat(40)).collect();
    for tick in updates.chunks(256) {
        store.append_updates(room_id, tick).await.expect("appends");
    }
    let with_log = file_bytes(&store, &path).await;
    assert!(with_log > 3_000_000, "the log takes {with_log} bytes");

    store
        .save_snapshot(room_id, 3, &snapshot, 20_000)
        .await
        .expect("compacts");
    let compacted = file_bytes(&store, &path).await;
    assert!(
        compacted as f64 <= 1.5 * live as f64,
        "after compaction the file takes {compacted} bytes, the live data {live} (the log: {with_log})"
    );
}

#[tokio::test]
async fn a_file_from_before_auto_vacuum_is_switched_at_start_and_keeps_its_rows() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    // The database as an older server created it: no auto-vacuum.
    let options = SqliteConnectOptions::from_str(&url)
        .expect("a URL")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let old = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .expect("opens");
    sqlx::migrate!("./migrations/sqlite")
        .run(&old)
        .await
        .expect("the schema");
    let (mode,): (i64,) = sqlx::query_as("PRAGMA auto_vacuum")
        .fetch_one(&old)
        .await
        .expect("reads the mode");
    assert_eq!(mode, 0, "the old file has none");
    sqlx::query("INSERT INTO users (username, password_hash, created_at) VALUES ('ada', 'h', 0)")
        .execute(&old)
        .await
        .expect("a user");
    old.close().await;

    let store = Store::connect(&url).await.expect("opens and switches");
    assert_eq!(auto_vacuum_mode(&store).await, 2, "incremental now");
    assert!(
        store.user_by_name("ada").await.expect("reads").is_some(),
        "the rows are kept"
    );
}

//! What keeping history costs: the trace's room stored as ChatSpace leaves it (log compacted
//! into a v2 snapshot), without and with the versions the historian would have saved along the
//! way, compared in bytes on disk and in the time a cold load from the database takes.
//!
//! The trace has no timestamps, so "every ten minutes of continuous editing" is taken as every
//! [`VERSION_EVERY`] updates (ten minutes of typing at a little over three keystrokes a
//! second). Each version holds the text and the whole document as a v1 update.

use chatspace::store::{NewVersion, Pool, VersionKind};
use chatspace_crdt::{RoomDoc, SnapshotFormat};
use criterion::Criterion;
use tokio::runtime::Runtime;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact, Update};

use crate::fixture::{check_text, Fixture};
use crate::group::Group;
use crate::ops::TICK;
use crate::storage::TempDb;
use crate::timings::{thousands, Table};

/// Updates between two versions.
pub const VERSION_EVERY: usize = 2_000;

/// The two databases and their sizes.
pub struct History {
    without: TempDb,
    with: TempDb,
    versions: usize,
    version_payload: u64,
    /// What the versions' text and state columns hold (compressed).
    version_stored: u64,
    size_without: u64,
    size_with: u64,
}

impl History {
    pub fn build(f: &Fixture, rt: &Runtime) -> Self {
        rt.block_on(Self::build_async(f))
            .expect("the history databases are written")
    }

    async fn build_async(f: &Fixture) -> anyhow::Result<Self> {
        let mut without = stored_room(f).await?;
        let mut with = stored_room(f).await?;
        let (versions, version_payload) = save_versions(f, &with).await?;
        let version_stored = stored_version_bytes(&with).await?;
        let size_without = vacuumed_size(&mut without).await?;
        let size_with = vacuumed_size(&mut with).await?;
        Ok(History {
            without,
            with,
            versions,
            version_payload,
            version_stored,
            size_without,
            size_with,
        })
    }

    pub fn print(&self, f: &Fixture) {
        let chars = f.trace.end_chars() as f64;
        println!(
            "\nWhat history costs on disk: {} versions (one per {} updates), SQLite files after \
             VACUUM and a WAL checkpoint",
            self.versions,
            thousands(VERSION_EVERY as u64)
        );
        let mut t = Table::new(&["stored form", "bytes", "bytes / char"]);
        let mut row = |what: &str, bytes: u64| {
            t.row(vec![
                what.to_owned(),
                thousands(bytes),
                format!("{:.2}", bytes as f64 / chars),
            ]);
        };
        row("room compacted, no versions", self.size_without);
        row("room compacted, with versions", self.size_with);
        row(
            "  versions' text and state as stored (deflate)",
            self.version_stored,
        );
        row(
            "  versions' text and state uncompressed",
            self.version_payload,
        );
        t.print();
    }
}

/// The bytes of the versions' compressed columns.
async fn stored_version_bytes(db: &TempDb) -> anyhow::Result<u64> {
    let Pool::Sqlite(pool) = db.store.pool() else {
        anyhow::bail!("the history figures are measured on SQLite");
    };
    let (bytes,): (i64,) =
        sqlx::query_as("SELECT COALESCE(SUM(length(text) + length(state)), 0) FROM doc_versions")
            .fetch_one(pool)
            .await?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// The file's size once free pages (the compacted log's) are given back; the database is open
/// again afterwards.
async fn vacuumed_size(db: &mut TempDb) -> anyhow::Result<u64> {
    let Pool::Sqlite(pool) = db.store.pool() else {
        anyhow::bail!("the history figures are measured on SQLite");
    };
    sqlx::query("VACUUM").execute(pool).await?;
    let size = db.close_and_size().await;
    db.reopen().await?;
    Ok(size)
}

/// A room holding the trace as the server leaves it: the log appended a tick at a time, then
/// compacted into a v2 snapshot.
async fn stored_room(f: &Fixture) -> anyhow::Result<TempDb> {
    let db = TempDb::create().await?;
    for tick in f.updates.chunks(TICK) {
        db.store.append_updates(db.room_id, tick).await?;
    }
    db.store
        .save_snapshot(db.room_id, 2, &f.snapshot_v2, f.n() as i64)
        .await?;
    Ok(db)
}

/// Replays the trace and saves a version every [`VERSION_EVERY`] updates; returns how many and
/// the bytes of their text and state.
async fn save_versions(f: &Fixture, db: &TempDb) -> anyhow::Result<(usize, u64)> {
    let doc = Doc::new();
    let text = doc.get_or_insert_text(chatspace_crdt::TEXT_NAME);
    let (mut count, mut bytes) = (0, 0);
    for (i, chunk) in f.updates.chunks(VERSION_EVERY).enumerate() {
        {
            let mut txn = doc.transact_mut();
            for update in chunk {
                txn.apply_update(Update::decode_v1(update)?)?;
            }
        }
        let txn = doc.transact();
        let state = txn.encode_state_as_update_v1(&StateVector::default());
        let content = text.get_string(&txn);
        let upto = ((i + 1) * VERSION_EVERY).min(f.n()) as i64;
        db.store
            .insert_version(&NewVersion {
                room_id: db.room_id,
                kind: VersionKind::Auto,
                name: None,
                created_by: None,
                upto_seq: upto,
                text: &content,
                state: &state,
            })
            .await?;
        count += 1;
        bytes += (state.len() + content.len()) as u64;
    }
    Ok((count, bytes))
}

/// Cold loads from the database, as a room does when its first client joins: read the snapshot
/// and log, rebuild the document.
pub fn bench_cold_load_with_history(c: &mut Criterion, f: &Fixture, rt: &Runtime, h: &History) {
    let mut g = Group::new(c, "cold_load_sqlite");
    g.short();
    for (id, db) in [("without_history", &h.without), ("with_history", &h.with)] {
        g.case(
            id,
            || (),
            |()| {
                let stored = rt
                    .block_on(db.store.load_document(db.room_id))
                    .expect("the document reads");
                let snapshot = stored.snapshot.as_ref().expect("a snapshot");
                RoomDoc::load(
                    Some((snapshot.data.as_slice(), SnapshotFormat::V2)),
                    &stored.updates,
                )
                .expect("loads")
            },
            |room| check_text("cold load from SQLite", &room.text(), &f.trace),
        );
    }
}

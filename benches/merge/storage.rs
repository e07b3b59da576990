//! SQLite: temporary databases for the log-append cases, and the bytes each stored form takes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chatspace::store::{Pool, Store};
use tokio::runtime::Runtime;

use crate::fixture::Fixture;
use crate::ops::TICK;
use crate::timings::{human_ns, thousands, Table};

/// A fresh SQLite database in a temporary folder, with the one user and room the log needs.
pub struct TempDb {
    pub store: Store,
    pub room_id: i64,
    path: PathBuf,
    /// Deletes the folder when dropped.
    _dir: tempfile::TempDir,
}

impl TempDb {
    pub async fn create() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("failed to create a temporary folder")?;
        let path = dir.path().join("bench.db");
        let store = Store::connect(&url_of(&path)).await?;
        let user = store
            .insert_user("bench", "not-a-password-hash")
            .await
            .context("failed to insert a user")?;
        let room_id = store
            .insert_room("bench", user, chatspace::rooms::access::Visibility::Public)
            .await
            .context("failed to insert a room")?;
        Ok(TempDb {
            store,
            room_id,
            path,
            _dir: dir,
        })
    }

    /// Closes the pool (checkpointing the WAL into the main file) and returns the bytes the
    /// database takes on disk: the main file plus whatever WAL is left.
    pub async fn close_and_size(&self) -> u64 {
        self.store.close().await;
        file_size(&self.path) + file_size(&self.path.with_extension("db-wal"))
    }

    pub async fn reopen(&mut self) -> anyhow::Result<()> {
        self.store = Store::connect(&url_of(&self.path)).await?;
        Ok(())
    }
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Bytes stored for the document, measured once before the timed cases.
pub struct Storage {
    pub log_bytes: u64,
    pub automerge_changes_bytes: u64,
    pub db_empty: u64,
    pub db_snapshot_v1: u64,
    pub db_snapshot_v2: u64,
    pub db_snapshot_zstd: u64,
    /// The v2 snapshot deflated at the best level (a contrast for the choice of zstd).
    pub deflate_v2_bytes: u64,
    /// Median time to decompress the snapshot: zstd (as stored), deflate (the contrast).
    pub inflate_ns: (f64, f64),
    pub db_log: u64,
    pub db_compacted: u64,
    pub db_vacuumed: u64,
}

impl Storage {
    pub fn measure(f: &Fixture, rt: &Runtime) -> Self {
        rt.block_on(Self::measure_async(f))
            .expect("the SQLite size measurements succeed")
    }

    pub async fn measure_async(f: &Fixture) -> anyhow::Result<Self> {
        let upto = f.n() as i64;
        let empty = TempDb::create().await?;
        let db_empty = empty.close_and_size().await;

        let mut sizes = [0; 3];
        for (size, (format, data)) in sizes.iter_mut().zip([
            (1, &f.snapshot_v1),
            (2, &f.snapshot_v2),
            (3, &f.snapshot_zstd),
        ]) {
            let db = TempDb::create().await?;
            db.store
                .save_snapshot(db.room_id, format, data, upto)
                .await?;
            *size = db.close_and_size().await;
        }

        let mut db = TempDb::create().await?;
        for tick in f.updates.chunks(TICK) {
            db.store.append_updates(db.room_id, tick).await?;
        }
        let db_log = db.close_and_size().await;
        db.reopen().await?;
        // As the server compacts: the compressed snapshot replaces the log, and the store gives
        // the freed pages back (no manual VACUUM).
        db.store
            .save_snapshot(db.room_id, 3, &f.snapshot_zstd, upto)
            .await?;
        let db_compacted = db.close_and_size().await;
        db.reopen().await?;
        let Pool::Sqlite(pool) = db.store.pool() else {
            anyhow::bail!("the storage figures are measured on SQLite");
        };
        sqlx::query("VACUUM").execute(pool).await?;
        let db_vacuumed = db.close_and_size().await;

        Ok(Storage {
            log_bytes: f.updates.iter().map(|u| u.len() as u64).sum(),
            automerge_changes_bytes: f.changes.iter().map(|c| c.raw_bytes().len() as u64).sum(),
            db_empty,
            db_snapshot_v1: sizes[0],
            db_snapshot_v2: sizes[1],
            db_snapshot_zstd: sizes[2],
            deflate_v2_bytes: deflated(&f.snapshot_v2)?.len() as u64,
            inflate_ns: decompression_times(f)?,
            db_log,
            db_compacted,
            db_vacuumed,
        })
    }

    pub fn print(&self, f: &Fixture) {
        let chars = f.trace.end_chars() as f64;
        let n = f.n() as f64;
        println!(
            "\nBytes per live character ({} characters, {} updates); SQLite sizes are whole files \
             after a WAL checkpoint, page size 4 KiB",
            thousands(chars as u64),
            thousands(n as u64)
        );
        let mut t = Table::new(&["stored form", "bytes", "bytes / char", "bytes / update"]);
        let mut row = |what: &str, bytes: u64| {
            t.row(vec![
                what.to_owned(),
                thousands(bytes),
                format!("{:.2}", bytes as f64 / chars),
                format!("{:.1}", bytes as f64 / n),
            ]);
        };
        row(
            "update log, v1 updates as sent (payload only)",
            self.log_bytes,
        );
        row("snapshot v1 (encode_snapshot)", f.snapshot_v1.len() as u64);
        row("snapshot v2 (encode_snapshot)", f.snapshot_v2.len() as u64);
        row(
            "snapshot v2 + zstd (format 3, what ChatSpace stores)",
            f.snapshot_zstd.len() as u64,
        );
        row(
            "  contrast: snapshot v2 + deflate, best level",
            self.deflate_v2_bytes,
        );
        row("automerge save()", f.automerge_saved.len() as u64);
        row(
            "automerge per-edit changes (payload only)",
            self.automerge_changes_bytes,
        );
        row(
            "SQLite file: schema + user + room, no document",
            self.db_empty,
        );
        row("SQLite file: + v1 snapshot", self.db_snapshot_v1);
        row("SQLite file: + v2 snapshot", self.db_snapshot_v2);
        row(
            "SQLite file: + zstd snapshot (the live data)",
            self.db_snapshot_zstd,
        );
        row(
            "  of which the zstd snapshot (file minus empty file)",
            self.db_snapshot_zstd.saturating_sub(self.db_empty),
        );
        row(
            "SQLite file: + whole update log (appended per 256)",
            self.db_log,
        );
        row(
            "SQLite file: log then compacted to zstd (no manual VACUUM)",
            self.db_compacted,
        );
        row("SQLite file: log, compacted, VACUUM", self.db_vacuumed);
        t.print();
        println!(
            "decompressing the snapshot (median of 21, interleaved): zstd {}, deflate {}",
            human_ns(self.inflate_ns.0),
            human_ns(self.inflate_ns.1)
        );
        for level in [3, 9, 19] {
            let start = std::time::Instant::now();
            let size = zstd::bulk::compress(&f.snapshot_v2, level).map_or(0, |c| c.len());
            println!(
                "zstd level {level}: {} bytes ({:.2} per character), compressed in {}",
                thousands(size as u64),
                size as f64 / chars,
                human_ns(start.elapsed().as_nanos() as f64)
            );
        }
        println!(
            "stored snapshot: {:.2} bytes per character (goal at most 1.00: {}); file after \
             compaction {:.2}x the file holding only the live data (goal at most 1.5x: {})\n",
            f.snapshot_zstd.len() as f64 / chars,
            met(f.snapshot_zstd.len() as f64 / chars <= 1.0),
            self.db_compacted as f64 / self.db_snapshot_zstd as f64,
            met(self.db_compacted as f64 <= 1.5 * self.db_snapshot_zstd as f64),
        );
    }
}

fn met(yes: bool) -> &'static str {
    if yes {
        "MET"
    } else {
        "MISSED"
    }
}

/// `data` deflated at the best level.
fn deflated(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// Median nanoseconds to decompress the stored snapshot with zstd and its deflated contrast
/// with flate2, 21 times each, taking turns.
fn decompression_times(f: &Fixture) -> anyhow::Result<(f64, f64)> {
    use std::io::Read;
    let deflated = deflated(&f.snapshot_v2)?;
    let (mut zstd_ns, mut deflate_ns) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        let start = std::time::Instant::now();
        let out = zstd::bulk::decompress(&f.snapshot_zstd, f.snapshot_v2.len())?;
        zstd_ns.push(start.elapsed().as_nanos() as f64);
        anyhow::ensure!(out == f.snapshot_v2, "zstd gives the snapshot back");
        let start = std::time::Instant::now();
        let mut out = Vec::with_capacity(f.snapshot_v2.len());
        flate2::read::DeflateDecoder::new(deflated.as_slice()).read_to_end(&mut out)?;
        deflate_ns.push(start.elapsed().as_nanos() as f64);
        anyhow::ensure!(out == f.snapshot_v2, "deflate gives the snapshot back");
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    Ok((median(zstd_ns), median(deflate_ns)))
}

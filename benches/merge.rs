//! `cargo bench --bench merge`: how fast ChatSpace takes in document updates, measured on a real
//! editing trace next to raw yrs and automerge, plus compaction, cold loads and bytes on disk.
//! The cases, the trace and the figures of one run are described in `docs/benchmarks.md`.
//!
//! Every case checks its result against the trace's `endContent` once before criterion times
//! it, and again (untimed) after every timed iteration: a wrong result panics and fails the run.
//! Whole-trace cases take seconds, so criterion runs them with flat sampling, 10 samples of one
//! iteration each; it warns that it cannot fit 10 samples into the tiny target time it is given,
//! which is expected. The bench keeps every iteration time itself and prints its own summary,
//! with the ratios criterion does not compute, at the end.

mod support;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, Change, ObjType, ReadDoc, ROOT};
use bytes::Bytes;
use chatspace::store::Store;
use chatspace_crdt::codec::{preflight, update_frame};
use chatspace_crdt::{
    decode_client_frame, encode_snapshot, ClientMessage, IncomingUpdate, Limits, RoomDoc,
    SnapshotFormat, TEXT_NAME,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use tokio::runtime::Runtime;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, TransactionMut, Update};

use support::summary::{self, human_ns, thousands, Table};
use support::trace::{self, Trace};

/// Updates the room task takes from its queue at once, and so the batch the bench appends to
/// SQLite per flush (`APPLY_BATCH` in `src/realtime/room.rs`).
const TICK: usize = 256;
/// Edits of the trace used where automerge applies one remote change per call: it re-walks the
/// whole text object per call, so the whole trace would take hours (see the docs).
const DEFAULT_AUTOMERGE_PREFIX: usize = 5_000;
/// Name of the text object in the automerge documents.
const AUTOMERGE_TEXT: &str = "text";

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    print_load("start");
    let fixture = Fixture::build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let storage = Storage::measure(&fixture, &rt);
    storage.print(&fixture);

    bench_ingest_parts(&mut criterion, &fixture);
    bench_apply_trace(&mut criterion, &fixture);
    bench_ingest_sqlite(&mut criterion, &fixture, &rt);
    bench_local_edits(&mut criterion, &fixture);
    bench_remote_prefix(&mut criterion, &fixture);
    bench_compaction(&mut criterion, &fixture);
    bench_cold_load(&mut criterion, &fixture);

    criterion.final_summary();
    print_summary(&fixture, &storage);
    print_load("end");
}

// ---------------------------------------------------------------------------------------------
// Inputs, built once and untimed.

/// Everything the cases replay, derived from the trace before any timing starts.
struct Fixture {
    trace: Trace,
    /// One v1 update per trace transaction: `txn.encode_update_v1()` at each commit of a yrs
    /// document edited locally, as a y-websocket client sends them.
    updates: Vec<Vec<u8>>,
    /// The same updates framed once as sync update messages: what the server's socket reads.
    frames: Vec<Vec<u8>>,
    /// The room document after the whole log, for the snapshot encodes.
    live: RoomDoc,
    /// A plain yrs document after the whole log, for yrs's own encode without ChatSpace's check.
    raw_doc: Doc,
    snapshot_v1: Vec<u8>,
    snapshot_v2: Vec<u8>,
    /// Automerge's change for each commit of a local run with one commit per trace transaction,
    /// the first one creating the text object.
    changes: Vec<Change>,
    /// `save()` of the final automerge document.
    automerge_saved: Vec<u8>,
    /// The first edits of the trace, for the cases that cannot replay all of it.
    prefix: Trace,
    /// `save_incremental()` after each commit of a local automerge run over `prefix`.
    prefix_chunks: Vec<Vec<u8>>,
}

impl Fixture {
    fn build() -> Self {
        let started = Instant::now();
        let trace = trace::load_from_env();
        println!(
            "trace: {} ({} transactions, {} patches, final text {} characters)",
            trace.source,
            thousands(trace.txns.len() as u64),
            thousands(trace.patch_count() as u64),
            thousands(trace.end_chars() as u64),
        );

        let mut updates = Vec::with_capacity(trace.txns.len());
        let doc = yrs_local(&trace, |txn| updates.push(txn.encode_update_v1()));
        check_text(
            "yrs local edits (generating the updates)",
            &yrs_text(&doc),
            &trace,
        );
        let frames: Vec<Vec<u8>> = updates.iter().map(|u| update_frame(u)).collect();

        let live = RoomDoc::load(None, &updates).expect("the update log loads");
        check_text("RoomDoc::load of the update log", &live.text(), &trace);
        let raw_doc = Doc::new();
        yrs_apply(&raw_doc, &updates, 64);
        check_text(
            "raw yrs apply of the update log",
            &yrs_text(&raw_doc),
            &trace,
        );
        let snapshot_v1 = encode_snapshot(&live, SnapshotFormat::V1).expect("a v1 snapshot");
        let snapshot_v2 = encode_snapshot(&live, SnapshotFormat::V2).expect("a v2 snapshot");

        let mut changes = Vec::with_capacity(trace.txns.len() + 1);
        let (mut doc, text) = automerge_local(&trace, true, |doc| {
            changes.push(doc.get_last_local_change().expect("a commit made a change"));
        });
        check_text(
            "automerge local edits (collecting the changes)",
            &doc.text(&text).expect("the text object"),
            &trace,
        );
        let automerge_saved = doc.save();

        let prefix_len = std::env::var("CHATSPACE_AUTOMERGE_PREFIX")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_AUTOMERGE_PREFIX);
        let prefix = trace.prefix(prefix_len);
        let mut prefix_chunks = Vec::with_capacity(prefix.txns.len() + 1);
        let (doc, text) = automerge_local(&prefix, true, |doc| {
            prefix_chunks.push(doc.save_incremental());
        });
        check_text(
            "automerge local edits of the prefix",
            &doc.text(&text).expect("the text object"),
            &prefix,
        );

        println!(
            "inputs built in {:.1} s: {} v1 updates ({} bytes), {} automerge changes; prefix for \
             per-change automerge cases: first {} transactions",
            started.elapsed().as_secs_f64(),
            thousands(updates.len() as u64),
            thousands(updates.iter().map(|u| u.len() as u64).sum()),
            thousands(changes.len() as u64),
            thousands(prefix.txns.len() as u64),
        );
        Fixture {
            trace,
            updates,
            frames,
            live,
            raw_doc,
            snapshot_v1,
            snapshot_v2,
            changes,
            automerge_saved,
            prefix,
            prefix_chunks,
        }
    }

    fn n(&self) -> usize {
        self.updates.len()
    }

    fn prefix_n(&self) -> usize {
        self.prefix.txns.len()
    }
}

/// Panics, failing the bench run, when a CRDT did not produce the trace's final text.
fn check_text(case: &str, actual: &str, trace: &Trace) {
    if actual != trace.end_content {
        let at = actual
            .chars()
            .zip(trace.end_content.chars())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| actual.chars().count().min(trace.end_chars()));
        panic!(
            "WRONG RESULT in {case}: final text differs from endContent at character {at} \
             ({} characters, expected {})",
            actual.chars().count(),
            trace.end_chars()
        );
    }
}

fn print_load(when: &str) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at {when}: {}", load.trim());
    }
}

// ---------------------------------------------------------------------------------------------
// The operations under test.

/// Replays the trace as local edits of a yrs document, one transaction per trace transaction;
/// `on_commit` sees each transaction just before it commits.
fn yrs_local(trace: &Trace, mut on_commit: impl FnMut(&TransactionMut<'_>)) -> Doc {
    let doc = Doc::with_client_id(1);
    let text = doc.get_or_insert_text(TEXT_NAME);
    for t in &trace.txns {
        let mut txn = doc.transact_mut();
        for p in &t.patches {
            if p.byte_del > 0 {
                text.remove_range(&mut txn, p.byte_pos, p.byte_del);
            }
            if !p.ins.is_empty() {
                text.insert(&mut txn, p.byte_pos, &p.ins);
            }
        }
        on_commit(&txn);
    }
    doc
}

fn yrs_text(doc: &Doc) -> String {
    doc.get_or_insert_text(TEXT_NAME)
        .get_string(&doc.transact())
}

/// Raw yrs: decodes each update and applies it, `per_txn` updates per transaction.
fn yrs_apply(doc: &Doc, updates: &[Vec<u8>], per_txn: usize) {
    for chunk in updates.chunks(per_txn) {
        let mut txn = doc.transact_mut();
        for bytes in chunk {
            let update = Update::decode_v1(bytes).expect("a trace update decodes");
            txn.apply_update(update).expect("a trace update applies");
        }
    }
}

/// ChatSpace's ingest path for a run of frames, as the server does it minus the channels and
/// the connections: `decode_client_frame` of each frame (the connection task's work), then per
/// `per_call` updates what the room task's `apply_batch` does (`src/realtime/ingest.rs`): drop
/// empty updates, note each update's sender, `RoomDoc::apply_updates`, and for each applied
/// update `update_frame` for the relay and the raw bytes queued for the log, which `flush` gets
/// every [`TICK`] updates.
fn ingest(
    room: &mut RoomDoc,
    frames: &[Vec<u8>],
    per_call: usize,
    mut flush: impl FnMut(&[Bytes]),
) {
    /// The one connection every update comes from.
    const CONN: u64 = 1;
    let limits = Limits::default();
    let mut pending: Vec<Bytes> = Vec::with_capacity(TICK);
    for chunk in frames.chunks(per_call) {
        let mut batch: Vec<(u64, IncomingUpdate)> = chunk
            .iter()
            .map(|frame| match decode_client_frame(frame, &limits) {
                Ok(ClientMessage::Update(update)) => (CONN, update),
                Ok(other) => panic!("a trace frame decoded as {other:?}"),
                Err(error) => panic!("a trace frame does not decode: {error}"),
            })
            .collect();
        // From here on, the steps of `apply_batch`.
        batch.retain(|(_, update)| !update.is_empty());
        let senders: Vec<u64> = batch.iter().map(|(conn, _)| *conn).collect();
        let updates: Vec<IncomingUpdate> = batch.into_iter().map(|(_, u)| u).collect();
        let positions: Vec<usize> = (0..updates.len()).collect();
        let outcome = room.apply_updates(updates);
        if let Some(failure) = outcome.failure {
            panic!("a trace update was refused: {:?}", failure.error);
        }
        for applied in outcome.applied {
            let sender = positions
                .get(applied.index)
                .and_then(|&i| senders.get(i))
                .copied();
            let raw = Bytes::from(applied.raw);
            // The room sends this frame to every connection but the sender; here there are none.
            black_box((sender, Bytes::from(update_frame(&raw))));
            pending.push(raw);
        }
        if pending.len() >= TICK {
            flush(&pending);
            pending.clear();
        }
    }
    if !pending.is_empty() {
        flush(&pending);
    }
}

/// Replays the trace as local automerge edits; `commit_each` commits after every trace
/// transaction (and `on_commit` sees the document after each commit, including the one that
/// creates the text object), otherwise there is one commit at the end.
fn automerge_local(
    trace: &Trace,
    commit_each: bool,
    mut on_commit: impl FnMut(&mut AutoCommit),
) -> (AutoCommit, automerge::ObjId) {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[0xc5; 16][..]));
    let text = doc
        .put_object(ROOT, AUTOMERGE_TEXT, ObjType::Text)
        .expect("a text object");
    doc.commit();
    on_commit(&mut doc);
    for t in &trace.txns {
        for p in &t.patches {
            // Positions and lengths in code points: automerge's default without `utf16-indexing`.
            doc.splice_text(&text, p.pos, p.del as isize, &p.ins)
                .expect("a trace patch applies");
        }
        if commit_each {
            doc.commit();
            on_commit(&mut doc);
        }
    }
    doc.commit();
    (doc, text)
}

fn automerge_text(doc: &Automerge) -> String {
    let (_, text) = doc
        .get(ROOT, AUTOMERGE_TEXT)
        .expect("a readable root")
        .expect("the text object");
    doc.text(&text).expect("the text")
}

// ---------------------------------------------------------------------------------------------
// Criterion plumbing.

/// A criterion group whose cases are checked before they are timed and whose iteration times
/// are kept for the summary.
struct Group<'a> {
    name: String,
    inner: BenchmarkGroup<'a, WallTime>,
}

impl<'a> Group<'a> {
    /// A group whose next cases are [`Group::long`] ones.
    fn new(c: &'a mut Criterion, name: &str) -> Self {
        let mut group = Group {
            name: name.to_owned(),
            inner: c.benchmark_group(name),
        };
        group.long();
        group
    }

    /// Cases from here on take 50 ms and more: 10 samples of one iteration each, after one
    /// warm-up iteration.
    fn long(&mut self) -> &mut Self {
        self.inner
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_millis(10));
        self
    }

    /// Cases from here on take milliseconds: 10 samples of as many iterations as fit in about
    /// two seconds.
    fn short(&mut self) -> &mut Self {
        self.inner
            .sample_size(10)
            .sampling_mode(SamplingMode::Auto)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        self
    }

    /// Times `run(setup())`. `check` gets each result after its clock stopped (and drops it
    /// there, so freeing a document is not timed); it must panic on a wrong result. Before the
    /// first timed iteration the case runs once untimed and is checked.
    fn case<S, R>(
        &mut self,
        id: &str,
        setup: impl FnMut() -> S,
        run: impl FnMut(S) -> R,
        check: impl FnMut(R),
    ) {
        self.timed(id, false, setup, run, check);
    }

    /// Like [`Group::case`], for a case whose `run` the fixture already ran over the same trace
    /// and checked before any timing (the local-edit runs that generate the updates and the
    /// automerge changes): a second untimed run of 10 s or more would only repeat that check.
    fn case_checked_by_fixture<S, R>(
        &mut self,
        id: &str,
        setup: impl FnMut() -> S,
        run: impl FnMut(S) -> R,
        check: impl FnMut(R),
    ) {
        self.timed(id, true, setup, run, check);
    }

    fn timed<S, R>(
        &mut self,
        id: &str,
        mut checked: bool,
        mut setup: impl FnMut() -> S,
        mut run: impl FnMut(S) -> R,
        mut check: impl FnMut(R),
    ) {
        let key = format!("{}/{id}", self.name);
        self.inner.bench_function(id, |b| {
            if !checked {
                check(run(setup()));
                checked = true;
            }
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let input = setup();
                    let start = Instant::now();
                    let output = run(input);
                    let took = start.elapsed();
                    check(output);
                    summary::record(&key, took);
                    total += took;
                }
                total
            });
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// The pieces of the ingest path alone, each over every update of the trace.
fn bench_ingest_parts(c: &mut Criterion, f: &Fixture) {
    let mut g = Group::new(c, "ingest_parts");
    let n = f.n();
    g.case(
        "yrs_update_decode_v1",
        || (),
        |()| {
            f.updates
                .iter()
                .map(|u| Update::decode_v1(u).expect("decodes"))
                .collect::<Vec<_>>()
        },
        |decoded| assert_eq!(decoded.len(), n),
    );
    g.case(
        "preflight_check_update_v1",
        || (),
        |()| {
            f.updates
                .iter()
                .filter(|u| black_box(preflight::check_update_v1(u)).is_ok())
                .count()
        },
        |ok| assert_eq!(ok, n, "every trace update passes the preflight"),
    );
    g.case(
        "decode_client_frame",
        || (),
        |()| {
            let limits = Limits::default();
            f.frames
                .iter()
                .map(|frame| decode_client_frame(frame, &limits).expect("decodes"))
                .collect::<Vec<_>>()
        },
        |decoded| {
            assert_eq!(decoded.len(), n);
            assert!(matches!(decoded.first(), Some(ClientMessage::Update(_))));
        },
    );
    g.case(
        "update_frame",
        || (),
        |()| {
            f.updates
                .iter()
                .map(|u| Bytes::from(update_frame(u)))
                .collect::<Vec<_>>()
        },
        |frames| assert_eq!(frames, f.frames),
    );
    g.case(
        "automerge_change_from_bytes",
        || {
            f.changes
                .iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect::<Vec<_>>()
        },
        |raws| {
            raws.into_iter()
                .map(|raw| Change::from_bytes(raw).expect("decodes"))
                .collect::<Vec<_>>()
        },
        |changes| assert_eq!(changes.len(), f.changes.len()),
    );
}

/// Every update of the trace applied to an empty document: raw yrs and ChatSpace's ingest path.
fn bench_apply_trace(c: &mut Criterion, f: &Fixture) {
    let mut g = Group::new(c, "apply_trace");
    for per_txn in [1, 16, 64] {
        g.case(
            &format!("yrs_raw_{per_txn}_per_txn"),
            Doc::new,
            |doc| {
                yrs_apply(&doc, &f.updates, per_txn);
                doc
            },
            |doc| check_text("raw yrs decode + apply", &yrs_text(&doc), &f.trace),
        );
    }
    for per_call in [1, 16, TICK] {
        g.case(
            &format!("chatspace_ingest_{per_call}_per_call"),
            RoomDoc::new,
            |mut room| {
                ingest(&mut room, &f.frames, per_call, |pending| {
                    black_box(pending);
                });
                room
            },
            |room| check_text("ChatSpace ingest", &room.text(), &f.trace),
        );
    }
    g.case(
        "automerge_apply_changes_all_at_once",
        || f.changes.clone(),
        |changes| {
            let mut doc = Automerge::new();
            doc.apply_changes(changes).expect("the changes apply");
            doc
        },
        |doc| check_text("automerge apply_changes", &automerge_text(&doc), &f.trace),
    );
}

/// The ingest path with the update log appended to a fresh SQLite file after every batch.
fn bench_ingest_sqlite(c: &mut Criterion, f: &Fixture, rt: &Runtime) {
    let mut g = Group::new(c, "ingest_sqlite");
    g.case(
        &format!("chatspace_ingest_{TICK}_per_call_with_append"),
        || {
            let db = rt.block_on(TempDb::create()).expect("a temporary database");
            (db, RoomDoc::new())
        },
        |(db, mut room)| {
            let mut seq = 1;
            ingest(&mut room, &f.frames, TICK, |pending| {
                rt.block_on(db.store.append_updates(db.room_id, seq, pending))
                    .expect("the log append succeeds");
                seq += pending.len() as i64;
            });
            (db, room)
        },
        |(db, room)| {
            check_text("ChatSpace ingest with SQLite", &room.text(), &f.trace);
            let stored = rt
                .block_on(db.store.load_document(db.room_id))
                .expect("the log reads back");
            assert_eq!(
                stored.updates, f.updates,
                "the stored log equals the updates"
            );
            rt.block_on(db.store.close());
        },
    );
    // The SQLite share alone: the same appends of the same bytes, without the document.
    g.case(
        &format!("append_updates_only_{TICK}_per_tick"),
        || {
            let db = rt.block_on(TempDb::create()).expect("a temporary database");
            let raws: Vec<Bytes> = f.updates.iter().map(|u| Bytes::from(u.clone())).collect();
            (db, raws)
        },
        |(db, raws)| {
            for (i, tick) in raws.chunks(TICK).enumerate() {
                let first = (i * TICK) as i64 + 1;
                rt.block_on(db.store.append_updates(db.room_id, first, tick))
                    .expect("the log append succeeds");
            }
            db
        },
        |db| {
            let stored = rt
                .block_on(db.store.load_document(db.room_id))
                .expect("the log reads back");
            assert_eq!(
                stored.updates, f.updates,
                "the stored log equals the updates"
            );
            rt.block_on(db.store.close());
        },
    );
}

/// The trace typed locally: yrs and automerge.
fn bench_local_edits(c: &mut Criterion, f: &Fixture) {
    let mut g = Group::new(c, "local_edits");
    // `Fixture::build` ran `yrs_local` (collecting the updates) and `automerge_local` with a
    // commit per edit (collecting the changes) over this trace and checked both results.
    g.case_checked_by_fixture(
        "yrs_txn_per_edit",
        || (),
        |()| yrs_local(&f.trace, |_| {}),
        |doc| check_text("yrs local edits", &yrs_text(&doc), &f.trace),
    );
    let check = |(doc, text): (AutoCommit, automerge::ObjId)| {
        check_text(
            "automerge local edits",
            &doc.text(&text).expect("the text object"),
            &f.trace,
        )
    };
    g.case_checked_by_fixture(
        "automerge_commit_per_edit",
        || (),
        |()| automerge_local(&f.trace, true, |_| {}),
        check,
    );
    g.case(
        "automerge_one_commit",
        || (),
        |()| automerge_local(&f.trace, false, |_| {}),
        check,
    );
}

/// One remote update or change per call on the first edits of the trace: automerge re-walks
/// the text object on every call, so these run on a prefix.
fn bench_remote_prefix(c: &mut Criterion, f: &Fixture) {
    let name = format!("remote_first_{}", f.prefix_n());
    let mut g = Group::new(c, &name);
    let n = f.prefix_n();
    g.case(
        "yrs_raw_1_per_txn",
        Doc::new,
        |doc| {
            yrs_apply(&doc, &f.updates[..n], 1);
            doc
        },
        |doc| check_text("raw yrs, prefix", &yrs_text(&doc), &f.prefix),
    );
    g.case(
        "automerge_apply_changes_1_per_call",
        // The first change creates the text object.
        || f.changes[..=n].to_vec(),
        |changes| {
            let mut doc = Automerge::new();
            for change in changes {
                doc.apply_changes([change]).expect("the change applies");
            }
            doc
        },
        |doc| {
            check_text(
                "automerge apply_changes, prefix",
                &automerge_text(&doc),
                &f.prefix,
            )
        },
    );
    g.case(
        "automerge_load_incremental_1_per_chunk",
        || (),
        |()| {
            let mut doc = Automerge::new();
            for chunk in &f.prefix_chunks {
                doc.load_incremental(chunk).expect("the chunk loads");
            }
            doc
        },
        |doc| {
            check_text(
                "automerge load_incremental, prefix",
                &automerge_text(&doc),
                &f.prefix,
            )
        },
    );
}

/// Turning the whole update log into one snapshot, and opening a compacted room.
fn bench_compaction(c: &mut Criterion, f: &Fixture) {
    let mut g = Group::new(c, "compaction");
    g.case(
        "chatspace_load_log_then_encode_v2",
        || (),
        |()| {
            let room = RoomDoc::load(None, &f.updates).expect("the log loads");
            let snapshot = encode_snapshot(&room, SnapshotFormat::V2).expect("encodes");
            (room, snapshot)
        },
        |(room, snapshot)| {
            check_text("load log + encode", &room.text(), &f.trace);
            assert_eq!(snapshot.len(), f.snapshot_v2.len());
        },
    );
    let automerge = Automerge::load(&f.automerge_saved).expect("the saved document loads");
    g.case(
        "automerge_save",
        || (),
        |()| automerge.save(),
        |saved| {
            let doc = Automerge::load(&saved).expect("the saved document loads");
            check_text("automerge save", &automerge_text(&doc), &f.trace);
        },
    );
    g.short();
    for (id, format, expected) in [
        (
            "chatspace_encode_v2_of_live_doc",
            SnapshotFormat::V2,
            &f.snapshot_v2,
        ),
        (
            "chatspace_encode_v1_of_live_doc",
            SnapshotFormat::V1,
            &f.snapshot_v1,
        ),
    ] {
        g.case(
            id,
            || (),
            |()| encode_snapshot(&f.live, format).expect("encodes"),
            |snapshot| assert_eq!(&snapshot, expected),
        );
    }
    g.case(
        "yrs_encode_state_as_update_v2",
        || (),
        |()| {
            f.raw_doc
                .transact()
                .encode_state_as_update_v2(&StateVector::default())
        },
        |snapshot| assert_eq!(snapshot.len(), f.snapshot_v2.len()),
    );
    g.case(
        "yrs_merge_updates_v1_chunks_of_64",
        || (),
        |()| {
            f.updates
                .chunks(64)
                .map(|chunk| yrs::merge_updates_v1(chunk).expect("merges"))
                .collect::<Vec<_>>()
        },
        |merged| {
            let doc = Doc::new();
            yrs_apply(&doc, &merged, 1);
            check_text(
                "merge_updates_v1 in chunks of 64",
                &yrs_text(&doc),
                &f.trace,
            );
        },
    );
}

/// Opening a compacted room: a snapshot and an empty log.
fn bench_cold_load(c: &mut Criterion, f: &Fixture) {
    let mut g = Group::new(c, "cold_load");
    g.short();
    for (id, bytes, format) in [
        (
            "chatspace_load_snapshot_v1",
            &f.snapshot_v1,
            SnapshotFormat::V1,
        ),
        (
            "chatspace_load_snapshot_v2",
            &f.snapshot_v2,
            SnapshotFormat::V2,
        ),
    ] {
        g.case(
            id,
            || (),
            |()| {
                RoomDoc::load(Some((bytes.as_slice(), format)), Vec::<Vec<u8>>::new())
                    .expect("loads")
            },
            |room| check_text("snapshot load", &room.text(), &f.trace),
        );
    }
    g.long();
    g.case(
        "automerge_load",
        || (),
        |()| Automerge::load(&f.automerge_saved).expect("loads"),
        |doc| check_text("automerge load", &automerge_text(&doc), &f.trace),
    );
}

// ---------------------------------------------------------------------------------------------
// Storage.

/// A fresh SQLite database in a temporary folder, with the one user and room the log needs.
struct TempDb {
    store: Store,
    room_id: i64,
    path: std::path::PathBuf,
    /// Deletes the folder when dropped.
    _dir: tempfile::TempDir,
}

impl TempDb {
    async fn create() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("failed to create a temporary folder")?;
        let path = dir.path().join("bench.db");
        let store = Store::connect(&url_of(&path)).await?;
        let user = store
            .insert_user("bench", "not-a-password-hash")
            .await
            .context("failed to insert a user")?;
        let room_id = store
            .insert_room("bench", user)
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
    async fn close_and_size(&self) -> u64 {
        self.store.close().await;
        file_size(&self.path) + file_size(&self.path.with_extension("db-wal"))
    }

    async fn reopen(&mut self) -> anyhow::Result<()> {
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
struct Storage {
    log_bytes: u64,
    automerge_changes_bytes: u64,
    db_empty: u64,
    db_snapshot_v1: u64,
    db_snapshot_v2: u64,
    db_log: u64,
    db_compacted: u64,
    db_vacuumed: u64,
}

impl Storage {
    fn measure(f: &Fixture, rt: &Runtime) -> Self {
        rt.block_on(Self::measure_async(f))
            .expect("the SQLite size measurements succeed")
    }

    async fn measure_async(f: &Fixture) -> anyhow::Result<Self> {
        let upto = f.n() as i64;
        let empty = TempDb::create().await?;
        let db_empty = empty.close_and_size().await;

        let mut sizes = [0; 2];
        for (size, (format, data)) in sizes
            .iter_mut()
            .zip([(1, &f.snapshot_v1), (2, &f.snapshot_v2)])
        {
            let db = TempDb::create().await?;
            db.store
                .save_snapshot(db.room_id, format, data, upto)
                .await?;
            *size = db.close_and_size().await;
        }

        let mut db = TempDb::create().await?;
        for (i, tick) in f.updates.chunks(TICK).enumerate() {
            let first = (i * TICK) as i64 + 1;
            db.store.append_updates(db.room_id, first, tick).await?;
        }
        let db_log = db.close_and_size().await;
        db.reopen().await?;
        db.store
            .save_snapshot(db.room_id, 2, &f.snapshot_v2, upto)
            .await?;
        let db_compacted = db.close_and_size().await;
        db.reopen().await?;
        sqlx::query("VACUUM").execute(db.store.pool()).await?;
        let db_vacuumed = db.close_and_size().await;

        Ok(Storage {
            log_bytes: f.updates.iter().map(|u| u.len() as u64).sum(),
            automerge_changes_bytes: f.changes.iter().map(|c| c.raw_bytes().len() as u64).sum(),
            db_empty,
            db_snapshot_v1: sizes[0],
            db_snapshot_v2: sizes[1],
            db_log,
            db_compacted,
            db_vacuumed,
        })
    }

    fn print(&self, f: &Fixture) {
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
        row(
            "snapshot v2 (encode_snapshot, what ChatSpace stores)",
            f.snapshot_v2.len() as u64,
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
            "  of which the v2 snapshot (file minus empty file)",
            self.db_snapshot_v2.saturating_sub(self.db_empty),
        );
        row(
            "SQLite file: + whole update log (appended per 256)",
            self.db_log,
        );
        row(
            "SQLite file: log then compacted to v2 (no VACUUM)",
            self.db_compacted,
        );
        row("SQLite file: log, compacted, VACUUM", self.db_vacuumed);
        t.print();
    }
}

// ---------------------------------------------------------------------------------------------
// The summary.

fn print_summary(f: &Fixture, storage: &Storage) {
    let n = f.n() as f64;
    let prefix = f.prefix_n() as f64;
    let remote = format!("remote_first_{}", f.prefix_n());
    let per = |id: &str, count: f64| summary::median_ns(id).map(|ns| ns / count);
    let fmt = |v: Option<f64>| v.map_or_else(|| "not run".to_owned(), human_ns);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}x", a / b),
        _ => "-".to_owned(),
    };

    println!(
        "\n=== Summary: trace {} ({} updates), median of the timed iterations, one run ===",
        f.trace.name(),
        thousands(n as u64)
    );
    let baseline = per("apply_trace/yrs_raw_1_per_txn", n);
    let mut t = Table::new(&[
        "ingest path (whole trace)",
        "per update",
        "vs raw yrs 1/txn",
        "runs",
    ]);
    let rows: Vec<(&str, String)> = vec![
        (
            "raw yrs: decode + apply, 1 update per txn (baseline)",
            "apply_trace/yrs_raw_1_per_txn".into(),
        ),
        (
            "raw yrs: decode + apply, 16 per txn",
            "apply_trace/yrs_raw_16_per_txn".into(),
        ),
        (
            "raw yrs: decode + apply, 64 per txn",
            "apply_trace/yrs_raw_64_per_txn".into(),
        ),
        (
            "ChatSpace ingest, 1 update per apply_updates",
            "apply_trace/chatspace_ingest_1_per_call".into(),
        ),
        (
            "ChatSpace ingest, 16 per apply_updates",
            "apply_trace/chatspace_ingest_16_per_call".into(),
        ),
        (
            "ChatSpace ingest, 256 per apply_updates",
            format!("apply_trace/chatspace_ingest_{TICK}_per_call"),
        ),
        (
            "ChatSpace ingest, 256 per call + SQLite append per 256",
            format!("ingest_sqlite/chatspace_ingest_{TICK}_per_call_with_append"),
        ),
        (
            "  part: SQLite append_updates alone, 256 rows per transaction",
            format!("ingest_sqlite/append_updates_only_{TICK}_per_tick"),
        ),
        (
            "  part: yrs Update::decode_v1",
            "ingest_parts/yrs_update_decode_v1".into(),
        ),
        (
            "  part: preflight::check_update_v1",
            "ingest_parts/preflight_check_update_v1".into(),
        ),
        (
            "  part: decode_client_frame (all of the connection task's work)",
            "ingest_parts/decode_client_frame".into(),
        ),
        (
            "  part: update_frame (relay framing)",
            "ingest_parts/update_frame".into(),
        ),
    ];
    for (label, id) in &rows {
        let v = per(id, n);
        t.row(vec![
            (*label).to_owned(),
            fmt(v),
            ratio(v, baseline),
            summary::runs(id).to_string(),
        ]);
    }
    t.print();

    let single = per("apply_trace/chatspace_ingest_1_per_call", n);
    let batched = [16, TICK].map(|k| per(&format!("apply_trace/chatspace_ingest_{k}_per_call"), n));
    if let (Some(base), Some(single)) = (baseline, single) {
        let r = single / base;
        println!(
            "goal 'ingest at most 1.1x raw yrs per update': {:.2}x -> {}",
            r,
            if r <= 1.1 { "MET" } else { "MISSED" }
        );
        for (k, v) in [16, TICK].iter().zip(batched) {
            if let Some(v) = v {
                let r = v / base;
                println!(
                    "goal 'faster than raw yrs when batched' ({k} per call): {:.2}x -> {}",
                    r,
                    if r < 1.0 { "MET" } else { "MISSED" }
                );
            }
        }
        println!();
    }

    let mut t = Table::new(&["yrs vs automerge", "yrs", "automerge", "automerge / yrs"]);
    let mut pair = |what: &str, y: Option<f64>, a: Option<f64>| {
        t.row(vec![what.to_owned(), fmt(y), fmt(a), ratio(a, y)]);
    };
    let yrs_local = per("local_edits/yrs_txn_per_edit", n);
    pair(
        "local edits, one txn / commit per edit (per edit)",
        yrs_local,
        per("local_edits/automerge_commit_per_edit", n),
    );
    pair(
        "local edits: automerge with ONE commit vs yrs txn per edit (per edit)",
        yrs_local,
        per("local_edits/automerge_one_commit", n),
    );
    pair(
        &format!(
            "remote, 1 update / change per call, first {} edits (per edit)",
            f.prefix_n()
        ),
        per(&format!("{remote}/yrs_raw_1_per_txn"), prefix),
        per(
            &format!("{remote}/automerge_apply_changes_1_per_call"),
            prefix + 1.0,
        ),
    );
    pair(
        &format!(
            "remote, load_incremental per chunk, first {} edits (per edit)",
            f.prefix_n()
        ),
        per(&format!("{remote}/yrs_raw_1_per_txn"), prefix),
        per(
            &format!("{remote}/automerge_load_incremental_1_per_chunk"),
            prefix + 1.0,
        ),
    );
    pair(
        "remote, whole trace in bulk: yrs 64 per txn vs apply_changes(all) (per edit)",
        per("apply_trace/yrs_raw_64_per_txn", n),
        per("apply_trace/automerge_apply_changes_all_at_once", n + 1.0),
    );
    pair(
        "decode only: Update::decode_v1 vs Change::from_bytes (per edit)",
        per("ingest_parts/yrs_update_decode_v1", n),
        per("ingest_parts/automerge_change_from_bytes", n + 1.0),
    );
    pair(
        "snapshot: encode_snapshot v2 of the live doc vs save()",
        per("compaction/chatspace_encode_v2_of_live_doc", 1.0),
        per("compaction/automerge_save", 1.0),
    );
    pair(
        "cold load of the final document: v2 snapshot vs load(save())",
        per("cold_load/chatspace_load_snapshot_v2", 1.0),
        per("cold_load/automerge_load", 1.0),
    );
    t.print();
    println!(
        "snapshot size: v2 {} B vs automerge save() {} B ({:.2}x)\n",
        thousands(f.snapshot_v2.len() as u64),
        thousands(f.automerge_saved.len() as u64),
        f.automerge_saved.len() as f64 / f.snapshot_v2.len() as f64
    );

    let mut t = Table::new(&["compaction and cold load (whole document)", "time"]);
    for (label, id) in [
        (
            "ChatSpace compaction: RoomDoc::load of the log + encode_snapshot v2",
            "compaction/chatspace_load_log_then_encode_v2",
        ),
        (
            "encode_snapshot v2 of the live document (what the room task does; verifies by reloading)",
            "compaction/chatspace_encode_v2_of_live_doc",
        ),
        (
            "  of which yrs encode_state_as_update_v2 alone (plain yrs doc)",
            "compaction/yrs_encode_state_as_update_v2",
        ),
        (
            "encode_snapshot v1 of the live document",
            "compaction/chatspace_encode_v1_of_live_doc",
        ),
        (
            "yrs::merge_updates_v1 in chunks of 64 (contrast; not a snapshot)",
            "compaction/yrs_merge_updates_v1_chunks_of_64",
        ),
        (
            "RoomDoc::load of the v1 snapshot",
            "cold_load/chatspace_load_snapshot_v1",
        ),
        (
            "RoomDoc::load of the v2 snapshot",
            "cold_load/chatspace_load_snapshot_v2",
        ),
        ("automerge save()", "compaction/automerge_save"),
        ("automerge load(save())", "cold_load/automerge_load"),
    ] {
        t.row(vec![label.to_owned(), fmt(per(id, 1.0))]);
    }
    t.print();
    storage.print(f);
}

//! Cases of the ingest path: its parts, the whole trace applied by raw yrs and by ChatSpace,
//! and ChatSpace with the SQLite log append.

use std::hint::black_box;

use automerge::{Automerge, Change};
use bytes::Bytes;
use chatspace_crdt::codec::{preflight, update_frame};
use chatspace_crdt::{decode_client_bytes, ClientMessage, Limits, RoomDoc};
use criterion::Criterion;
use tokio::runtime::Runtime;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Update};

use crate::fixture::{check_text, Fixture};
use crate::group::Group;
use crate::ops::{automerge_text, ingest, yrs_apply, yrs_text, TICK};
use crate::storage::TempDb;

/// The pieces of the ingest path alone, each over every update of the trace.
pub fn bench_ingest_parts(c: &mut Criterion, f: &Fixture) {
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
        "decode_client_bytes",
        || f.frames.clone(),
        |frames| {
            let limits = Limits::default();
            frames
                .into_iter()
                .map(|frame| decode_client_bytes(frame, &limits).expect("decodes"))
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
pub fn bench_apply_trace(c: &mut Criterion, f: &Fixture) {
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
            || (RoomDoc::new(), f.frames.clone()),
            |(mut room, frames)| {
                ingest(&mut room, frames, per_call, |pending| {
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
pub fn bench_ingest_sqlite(c: &mut Criterion, f: &Fixture, rt: &Runtime) {
    let mut g = Group::new(c, "ingest_sqlite");
    g.case(
        &format!("chatspace_ingest_{TICK}_per_call_with_append"),
        || {
            let db = rt.block_on(TempDb::create()).expect("a temporary database");
            (db, RoomDoc::new(), f.frames.clone())
        },
        |(db, mut room, frames)| {
            ingest(&mut room, frames, TICK, |pending| {
                rt.block_on(db.store.append_updates(db.room_id, pending))
                    .expect("the log append succeeds");
            });
            (db, room)
        },
        |(db, room)| {
            check_text("ChatSpace ingest with SQLite", &room.text(), &f.trace);
            check_log(rt, &db, f);
        },
    );
    // The SQLite share alone: the same appends of the same bytes, without the document.
    g.case(
        &format!("append_updates_only_{TICK}_per_tick"),
        || {
            let db = rt.block_on(TempDb::create()).expect("a temporary database");
            let raws: Vec<Bytes> = f.updates.clone();
            (db, raws)
        },
        |(db, raws)| {
            for tick in raws.chunks(TICK) {
                rt.block_on(db.store.append_updates(db.room_id, tick))
                    .expect("the log append succeeds");
            }
            db
        },
        |db| check_log(rt, &db, f),
    );
}

/// Panics unless the database's log replays to the trace's final text (the ingest path may
/// store coalesced keystrokes, so not necessarily the trace's own updates); closes it.
fn check_log(rt: &Runtime, db: &TempDb, f: &Fixture) {
    let stored = rt
        .block_on(db.store.load_document(db.room_id))
        .expect("the log reads back");
    let replayed = RoomDoc::load(None, stored.updates.iter()).expect("the stored log loads");
    check_text("the stored update log", &replayed.text(), &f.trace);
    rt.block_on(db.store.close());
}

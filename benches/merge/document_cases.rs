//! Cases of whole documents: local edits, remote changes one at a time, compaction and cold
//! loads.

use automerge::{AutoCommit, Automerge, ReadDoc};
use chatspace_crdt::{encode_snapshot, RoomDoc, SnapshotFormat};
use criterion::Criterion;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use crate::fixture::{check_text, Fixture};
use crate::group::Group;
use crate::ops::{automerge_local, automerge_text, yrs_apply, yrs_local, yrs_text};

/// The trace typed locally: yrs and automerge.
pub fn bench_local_edits(c: &mut Criterion, f: &Fixture) {
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
pub fn bench_remote_prefix(c: &mut Criterion, f: &Fixture) {
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
pub fn bench_compaction(c: &mut Criterion, f: &Fixture) {
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
pub fn bench_cold_load(c: &mut Criterion, f: &Fixture) {
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

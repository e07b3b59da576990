//! The run's own summary: per-update figures and the ratios criterion does not compute.

use crate::fixture::Fixture;
use crate::ops::{ingest, TICK};
use crate::paired::{self, Paired};
use crate::storage::Storage;
use crate::timings::{self, human_ns, thousands, Table};
use chatspace_crdt::RoomDoc;

pub fn print_summary(f: &Fixture, storage: &Storage, paired: &[Paired]) {
    let n = f.n() as f64;
    let prefix = f.prefix_n() as f64;
    let remote = format!("remote_first_{}", f.prefix_n());
    let per = |id: &str, count: f64| timings::median_ns(id).map(|ns| ns / count);
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
            "ChatSpace ingest, 1 update per batch",
            "apply_trace/chatspace_ingest_1_per_call".into(),
        ),
        (
            "ChatSpace ingest, batches of 16 (keystrokes coalesced)",
            "apply_trace/chatspace_ingest_16_per_call".into(),
        ),
        (
            "ChatSpace ingest, batches of 256 (keystrokes coalesced)",
            format!("apply_trace/chatspace_ingest_{TICK}_per_call"),
        ),
        (
            "ChatSpace ingest, batches of 256 + SQLite append per 256 rows",
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
            "  part: decode_client_bytes (all of the connection task's work)",
            "ingest_parts/decode_client_bytes".into(),
        ),
        (
            "  part: update_frame (relay framing of a step 2; updates relay their own frame)",
            "ingest_parts/update_frame".into(),
        ),
    ];
    for (label, id) in &rows {
        let v = per(id, n);
        t.row(vec![
            (*label).to_owned(),
            fmt(v),
            ratio(v, baseline),
            timings::runs(id).to_string(),
        ]);
    }
    t.print();
    for per_call in [16, TICK] {
        let mut stored = 0;
        ingest(&mut RoomDoc::new(), f.frames.clone(), per_call, |rows| {
            stored += rows.len()
        });
        println!(
            "batches of {per_call}: {} updates coalesced into {} (each stored and relayed once)",
            thousands(n as u64),
            thousands(stored as u64)
        );
    }
    println!();

    paired::print(paired);

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
            "  contrast: yrs encode_state_as_update_v2 alone (plain yrs doc, no check)",
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

//! `cargo bench --bench merge`: how fast ChatSpace takes in document updates, measured on a real
//! editing trace next to raw yrs and automerge, plus compaction, cold loads, bytes on disk and what
//! keeping history (versions) costs.
//! The cases, the trace and the figures of one run are described in `docs/benchmarks.md`.
//!
//! Every case checks its result against the trace's `endContent` once before criterion times
//! it, and again (untimed) after every timed iteration: a wrong result panics and fails the run.
//! Whole-trace cases take seconds, so criterion runs them with flat sampling, 10 samples of one
//! iteration each; it warns that it cannot fit 10 samples into the tiny target time it is given,
//! which is expected. The bench keeps every iteration time itself and prints its own summary,
//! with the ratios criterion does not compute, at the end. The ingest goals are judged on
//! paired runs (`paired.rs`), which take turns with the baseline to be robust against noise, and
//! so are the storage goals (`storage_goals.rs`). `CHATSPACE_STORAGE_ONLY=1` runs only the
//! storage figures, the storage goals and the paired ingest comparisons;
//! `CHATSPACE_INGEST_ONLY=1` only the paired ingest comparisons (about a minute, e.g. under
//! `perf record`).

mod document_cases;
mod fixture;
mod group;
mod history;
mod ingest_cases;
mod ops;
mod paired;
mod report;
mod storage;
mod storage_goals;
mod timings;
mod trace;

use criterion::Criterion;

use document_cases::{bench_cold_load, bench_compaction, bench_local_edits, bench_remote_prefix};
use fixture::Fixture;
use history::{bench_cold_load_with_history, History};
use ingest_cases::{bench_apply_trace, bench_ingest_parts, bench_ingest_sqlite};
use report::print_summary;
use storage::Storage;

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    print_load("start");
    let fixture = Fixture::build();
    if std::env::var_os("CHATSPACE_INGEST_ONLY").is_some() {
        paired::print(&paired::run_all(&fixture));
        print_load("end");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let storage = Storage::measure(&fixture, &rt);
    storage.print(&fixture);
    let storage_goals = storage_goals::run(&fixture);
    storage_goals::print(&storage_goals);
    if std::env::var_os("CHATSPACE_STORAGE_ONLY").is_some() {
        // The storage goals and the ingest guard only (a few minutes instead of twenty).
        paired::print(&paired::run_all(&fixture));
        print_load("end");
        return;
    }
    let history = History::build(&fixture, &rt);
    history.print(&fixture);

    bench_ingest_parts(&mut criterion, &fixture);
    bench_apply_trace(&mut criterion, &fixture);
    bench_ingest_sqlite(&mut criterion, &fixture, &rt);
    bench_local_edits(&mut criterion, &fixture);
    bench_remote_prefix(&mut criterion, &fixture);
    bench_compaction(&mut criterion, &fixture);
    bench_cold_load(&mut criterion, &fixture);
    bench_cold_load_with_history(&mut criterion, &fixture, &rt, &history);
    let paired = paired::run_all(&fixture);

    criterion.final_summary();
    print_summary(&fixture, &storage, &paired);
    storage_goals::print(&storage_goals);
    print_load("end");
}

fn print_load(when: &str) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at {when}: {}", load.trim());
    }
}

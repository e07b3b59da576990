//! The ingest goals, measured in pairs: raw yrs and ChatSpace's ingest path take turns on the
//! whole trace, and each pair gives one ratio. On a shared machine a burst of someone else's work
//! lands on whichever case criterion happens to be running, and one case's 10 iterations run back
//! to back; taking turns lets such bursts hit both sides alike, and the order is swapped every
//! pair so that a slow drift favours neither. The goals are judged on the median ratio.

use std::time::Instant;

use chatspace_crdt::RoomDoc;
use yrs::Doc;

use crate::fixture::{check_text, Fixture};
use crate::ops::{ingest, yrs_apply, yrs_text};
use crate::timings::{human_ns, Table};

/// Pairs per comparison unless `CHATSPACE_PAIRS` says otherwise (0 skips the comparisons).
const DEFAULT_PAIRS: usize = 11;

/// One side of a comparison: raw yrs with so many updates per transaction, or ChatSpace's
/// ingest path with so many updates per call.
#[derive(Clone, Copy)]
enum Side {
    RawYrs(usize),
    ChatSpace(usize),
}

impl Side {
    fn label(self) -> String {
        match self {
            Side::RawYrs(k) => format!("raw yrs, {k} per txn"),
            Side::ChatSpace(k) => format!("ChatSpace ingest, batches of {k}"),
        }
    }

    /// Replays every update of the trace once; returns the nanoseconds it took. The text is
    /// checked after the clock stopped.
    fn run(self, f: &Fixture) -> f64 {
        match self {
            Side::RawYrs(per_txn) => {
                let doc = Doc::new();
                let start = Instant::now();
                yrs_apply(&doc, &f.updates, per_txn);
                let took = start.elapsed();
                check_text("raw yrs (paired)", &yrs_text(&doc), &f.trace);
                took.as_nanos() as f64
            }
            Side::ChatSpace(per_call) => {
                let mut room = RoomDoc::new();
                let start = Instant::now();
                ingest(&mut room, &f.frames, per_call, |pending| {
                    std::hint::black_box(pending);
                });
                let took = start.elapsed();
                check_text("ChatSpace ingest (paired)", &room.text(), &f.trace);
                took.as_nanos() as f64
            }
        }
    }
}

/// What one comparison measured.
pub struct Paired {
    baseline: Side,
    candidate: Side,
    /// Per-update nanoseconds of each side, one entry per pair.
    baseline_ns: Vec<f64>,
    candidate_ns: Vec<f64>,
    /// candidate / baseline, one per pair.
    ratios: Vec<f64>,
    /// What the ratio must not exceed for the goal (`None`: no goal on this comparison).
    goal: Option<(&'static str, f64, bool)>,
}

/// The comparisons the goals are about, each over `CHATSPACE_PAIRS` pairs.
pub fn run_all(f: &Fixture) -> Vec<Paired> {
    let pairs = std::env::var("CHATSPACE_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAIRS);
    if pairs == 0 {
        return Vec::new();
    }
    let base = Side::RawYrs(1);
    let comparisons = [
        (
            base,
            Side::ChatSpace(1),
            Some(("ingest at most 1.1x raw yrs per update", 1.1, true)),
        ),
        (
            base,
            Side::ChatSpace(16),
            Some(("faster than raw yrs when batched (16)", 1.0, false)),
        ),
        (
            base,
            Side::ChatSpace(256),
            Some(("faster than raw yrs when batched (256)", 1.0, false)),
        ),
        (Side::RawYrs(64), Side::ChatSpace(256), None),
    ];
    let n = f.n() as f64;
    println!("\npaired runs: {pairs} pairs per comparison, whole trace each time");
    comparisons
        .into_iter()
        .map(|(baseline, candidate, goal)| {
            let mut result = Paired {
                baseline,
                candidate,
                baseline_ns: Vec::with_capacity(pairs),
                candidate_ns: Vec::with_capacity(pairs),
                ratios: Vec::with_capacity(pairs),
                goal,
            };
            for i in 0..pairs {
                let (b, c) = if i % 2 == 0 {
                    let b = baseline.run(f);
                    (b, candidate.run(f))
                } else {
                    let c = candidate.run(f);
                    (baseline.run(f), c)
                };
                result.baseline_ns.push(b / n);
                result.candidate_ns.push(c / n);
                result.ratios.push(c / b);
            }
            result
        })
        .collect()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => sorted[mid],
        _ => (sorted[mid - 1] + sorted[mid]) / 2.0,
    }
}

/// The table of the paired comparisons and the verdict on each goal.
pub fn print(results: &[Paired]) {
    if results.is_empty() {
        println!("paired comparisons skipped (CHATSPACE_PAIRS=0)\n");
        return;
    }
    let mut t = Table::new(&[
        "paired comparison (per update, median of the pairs)",
        "baseline",
        "ChatSpace",
        "median ratio",
        "ratio range",
    ]);
    for r in results {
        let (low, high) = r
            .ratios
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        t.row(vec![
            format!("{} vs {}", r.candidate.label(), r.baseline.label()),
            human_ns(median(&r.baseline_ns)),
            human_ns(median(&r.candidate_ns)),
            format!("{:.2}x", median(&r.ratios)),
            format!("{low:.2}-{high:.2}x"),
        ]);
    }
    t.print();
    for r in results {
        if let Some((goal, bound, inclusive)) = r.goal {
            let ratio = median(&r.ratios);
            let met = if inclusive {
                ratio <= bound
            } else {
                ratio < bound
            };
            println!(
                "goal '{goal}': median paired ratio {ratio:.2}x -> {}",
                if met { "MET" } else { "MISSED" }
            );
        }
    }
    println!();
}

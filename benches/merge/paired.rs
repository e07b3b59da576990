//! The ingest goals, measured in pairs: raw yrs and ChatSpace's ingest path replay the whole
//! trace side by side, each on its own document, taking turns every [`TURN`] updates (about
//! 10 ms), and each pair gives one ratio of the two sides' summed times. On this shared VM bursts
//! of someone else's work last tens to hundreds of milliseconds; with turns that short a burst
//! lands on both sides alike instead of on whichever whole replay happened to run, and who goes
//! first alternates every turn so that neither side always runs on the other's cache state. The
//! goals are judged on the median ratio of the pairs. The first comparison pits raw yrs against
//! itself: its ratios show how far from 1.00x the method strays on the machine at hand.

use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chatspace_crdt::RoomDoc;
use yrs::Doc;

use crate::fixture::{check_text, Fixture};
use crate::ops::{ingest, yrs_apply, yrs_apply_try_lock, yrs_text};
use crate::timings::{human_ns, Table};

/// Pairs per comparison unless `CHATSPACE_PAIRS` says otherwise (0 skips the comparisons).
const DEFAULT_PAIRS: usize = 11;

/// Updates one side replays before the other takes its turn: a multiple of every batch size
/// compared (1, 16, 64, 256), so that both sides see exactly the batches of a whole replay.
const TURN: usize = 4096;

/// One side of a comparison: raw yrs with so many updates per transaction (taking the
/// document's lock with yrs's `transact_mut`, or with `try_transact_mut` as ChatSpace's room
/// does), or ChatSpace's ingest path with so many updates per call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    RawYrs(usize, Lock),
    ChatSpace(usize),
}

/// How raw yrs takes the document's lock for each transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    TransactMut,
    TryTransactMut,
}

/// A side's document partway through the replay.
enum Replay {
    RawYrs(Doc, usize, Lock),
    ChatSpace(RoomDoc, usize),
}

impl Side {
    fn label(self) -> String {
        match self {
            Side::RawYrs(k, Lock::TransactMut) => format!("raw yrs, {k} per txn"),
            Side::RawYrs(k, Lock::TryTransactMut) => {
                format!("raw yrs with try_transact_mut, {k} per txn")
            }
            Side::ChatSpace(k) => format!("ChatSpace ingest, batches of {k}"),
        }
    }

    fn start(self) -> Replay {
        match self {
            Side::RawYrs(per_txn, lock) => Replay::RawYrs(Doc::new(), per_txn, lock),
            Side::ChatSpace(per_call) => Replay::ChatSpace(RoomDoc::new(), per_call),
        }
    }
}

impl Replay {
    /// Replays the updates in `range`; returns how long it took.
    fn turn(&mut self, f: &Fixture, range: Range<usize>) -> Duration {
        match self {
            Replay::RawYrs(doc, per_txn, lock) => {
                let updates = &f.updates[range];
                let start = Instant::now();
                match lock {
                    Lock::TransactMut => yrs_apply(doc, updates, *per_txn),
                    Lock::TryTransactMut => yrs_apply_try_lock(doc, updates, *per_txn),
                }
                start.elapsed()
            }
            Replay::ChatSpace(room, per_call) => {
                // The server owns each frame it reads: the handles are made before the clock
                // starts, as the socket makes them before the connection task gets them.
                let frames = f.frames[range].to_vec();
                let start = Instant::now();
                ingest(room, frames, *per_call, |pending: &[Bytes]| {
                    std::hint::black_box(pending);
                });
                start.elapsed()
            }
        }
    }

    /// After the last turn: the document must hold the trace's final text.
    fn check(&self, f: &Fixture) {
        match self {
            Replay::RawYrs(doc, ..) => check_text("raw yrs (paired)", &yrs_text(doc), &f.trace),
            Replay::ChatSpace(room, _) => {
                check_text("ChatSpace ingest (paired)", &room.text(), &f.trace)
            }
        }
    }
}

/// One pair: both sides replay the whole trace in alternating turns. Returns the nanoseconds
/// each side spent in all; the texts are checked after the clocks stopped.
fn run_pair(baseline: Side, candidate: Side, f: &Fixture) -> (f64, f64) {
    let (mut b, mut c) = (baseline.start(), candidate.start());
    let (mut b_time, mut c_time) = (Duration::ZERO, Duration::ZERO);
    for (turn, start) in (0..f.n()).step_by(TURN).enumerate() {
        let range = start..(start + TURN).min(f.n());
        if turn % 2 == 0 {
            b_time += b.turn(f, range.clone());
            c_time += c.turn(f, range);
        } else {
            c_time += c.turn(f, range.clone());
            b_time += b.turn(f, range);
        }
    }
    b.check(f);
    c.check(f);
    (b_time.as_nanos() as f64, c_time.as_nanos() as f64)
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

/// The row of a comparison in the table.
fn row_label(baseline: Side, candidate: Side) -> String {
    if candidate == baseline {
        format!("{} vs itself (the method's own spread)", baseline.label())
    } else {
        format!("{} vs {}", candidate.label(), baseline.label())
    }
}

/// The comparisons the goals are about, each over `CHATSPACE_PAIRS` pairs. When
/// `CHATSPACE_PAIRED_ONLY` is set, only those whose row contains its text (e.g.
/// `CHATSPACE_PAIRED_ONLY=try_transact_mut` for the like-for-like guard alone, to profile it).
pub fn run_all(f: &Fixture) -> Vec<Paired> {
    let pairs = std::env::var("CHATSPACE_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAIRS);
    if pairs == 0 {
        return Vec::new();
    }
    let base = Side::RawYrs(1, Lock::TransactMut);
    let comparisons = [
        // Raw yrs against itself: how far from 1.00x the method itself strays on this machine.
        (base, base, None),
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
        (
            Side::RawYrs(64, Lock::TransactMut),
            Side::ChatSpace(256),
            None,
        ),
        // Like for like: raw yrs taking the lock as ChatSpace does, so the ratio is ChatSpace's
        // own work alone (the goal above is against yrs as its documentation uses it).
        (
            Side::RawYrs(1, Lock::TryTransactMut),
            Side::ChatSpace(1),
            Some((
                "ingest of one update within 1.15x raw yrs like for like",
                1.15,
                true,
            )),
        ),
    ];
    let n = f.n() as f64;
    println!("\npaired runs: {pairs} pairs per comparison, each side replaying the whole trace in turns of {TURN} updates");
    let only = std::env::var("CHATSPACE_PAIRED_ONLY").ok();
    comparisons
        .into_iter()
        .filter(|(baseline, candidate, _)| {
            only.as_deref()
                .is_none_or(|text| row_label(*baseline, *candidate).contains(text))
        })
        .map(|(baseline, candidate, goal)| {
            let mut result = Paired {
                baseline,
                candidate,
                baseline_ns: Vec::with_capacity(pairs),
                candidate_ns: Vec::with_capacity(pairs),
                ratios: Vec::with_capacity(pairs),
                goal,
            };
            for _ in 0..pairs {
                let (b, c) = run_pair(baseline, candidate, f);
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
        "compared",
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
            row_label(r.baseline, r.candidate),
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

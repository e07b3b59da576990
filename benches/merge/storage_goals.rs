//! The storage and loading goals, each timed in pairs against its baseline in the same run: the
//! two sides take turns (who goes first alternates), each pair gives one ratio, and the goal is
//! judged on the median ratio, as in `paired.rs`. Documents are dropped after the clock stops.
//!
//! - cold load: what the server does to open a compacted room (decompress, decode, apply, its
//!   checks: `RoomDoc::load_recovering` of the stored zstd snapshot) against raw yrs decoding the
//!   same snapshot uncompressed (`Update::decode_v2`) into a fresh document;
//! - compaction on the room's thread: what the room waits for now (the encode) against what it
//!   waited for before (the encode and a check that loads the snapshot back).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chatspace_crdt::{encode_snapshot, RoomDoc, SnapshotFormat};
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use crate::fixture::{check_text, Fixture};
use crate::timings::{human_ns, Table};

/// Pairs per comparison unless `CHATSPACE_STORAGE_PAIRS` says otherwise.
const DEFAULT_PAIRS: usize = 31;

/// What one comparison measured: per pair, the baseline's and the candidate's time.
pub struct Comparison {
    label: &'static str,
    baseline: &'static str,
    times: Vec<(Duration, Duration)>,
    /// The goal on the median ratio (`None`: a contrast, no goal).
    goal: Option<(&'static str, f64)>,
}

impl Comparison {
    fn ratios(&self) -> Vec<f64> {
        let mut ratios: Vec<f64> = self
            .times
            .iter()
            .map(|(b, c)| c.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios
    }

    fn median_ns(&self, pick: impl Fn(&(Duration, Duration)) -> Duration) -> f64 {
        let mut ns: Vec<f64> = self
            .times
            .iter()
            .map(|t| pick(t).as_nanos() as f64)
            .collect();
        ns.sort_by(f64::total_cmp);
        ns.get(ns.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

/// Times `baseline` and `candidate` in `pairs` alternating pairs. Each returns its result after
/// the timed part (as `(time, result)`); `check` sees the candidate's result untimed.
fn compare<B, C>(
    pairs: usize,
    mut baseline: impl FnMut() -> (Duration, B),
    mut candidate: impl FnMut() -> (Duration, C),
    mut check: impl FnMut(C),
) -> Vec<(Duration, Duration)> {
    (0..pairs)
        .map(|i| {
            if i % 2 == 0 {
                let (b, kept) = baseline();
                drop(kept);
                let (c, result) = candidate();
                check(result);
                (b, c)
            } else {
                let (c, result) = candidate();
                check(result);
                let (b, kept) = baseline();
                drop(kept);
                (b, c)
            }
        })
        .collect()
}

fn timed<T>(run: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = run();
    (start.elapsed(), out)
}

/// Raw yrs: the uncompressed v2 snapshot decoded and applied to a fresh document.
fn raw_yrs_load(f: &Fixture) -> (Duration, Doc) {
    timed(|| {
        let doc = Doc::new();
        {
            let update = Update::decode_v2(&f.snapshot_v2).expect("decodes");
            doc.transact_mut().apply_update(update).expect("applies");
        }
        doc
    })
}

pub fn run(f: &Fixture) -> Vec<Comparison> {
    let pairs = std::env::var("CHATSPACE_STORAGE_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAIRS);
    let no_log = Vec::<Vec<u8>>::new;
    let room_text = |room: RoomDoc| check_text("cold load", &room.text(), &f.trace);
    let mut out = Vec::new();
    out.push(Comparison {
        label: "cold load of the stored snapshot (zstd v2): decompress, decode, apply, checks",
        baseline: "raw yrs: decode_v2 + apply of the same snapshot uncompressed, fresh doc",
        times: compare(
            pairs,
            || raw_yrs_load(f),
            || {
                timed(|| {
                    let snapshot = Some((f.snapshot_zstd.as_slice(), SnapshotFormat::V2Zstd));
                    RoomDoc::load_recovering(snapshot, no_log())
                        .expect("loads")
                        .doc
                })
            },
            room_text,
        ),
        goal: Some(("cold load at most 1.2x raw yrs decoding", 1.2)),
    });
    out.push(Comparison {
        label: "  contrast: RoomDoc::load of the plain v2 snapshot (what load adds to yrs)",
        baseline: "raw yrs, as above",
        times: compare(
            pairs,
            || raw_yrs_load(f),
            || {
                timed(|| {
                    RoomDoc::load(
                        Some((f.snapshot_v2.as_slice(), SnapshotFormat::V2)),
                        no_log(),
                    )
                    .expect("loads")
                })
            },
            room_text,
        ),
        goal: None,
    });
    let format = SnapshotFormat::V2Zstd;
    out.push(Comparison {
        label: "compaction, the room's share: encode (the check and zstd run in its writer)",
        baseline: "before: encode + check (a reload of the snapshot) on the room's thread",
        times: compare(
            pairs,
            || timed(|| encode_snapshot(&f.live, SnapshotFormat::V2).expect("encodes")),
            || timed(|| f.live.encode_unchecked_snapshot(format).expect("encodes")),
            |unchecked| {
                black_box(unchecked);
            },
        ),
        goal: Some(("the room waits less for a compaction", 1.0)),
    });
    let unchecked = f.live.encode_unchecked_snapshot(format).expect("encodes");
    out.push(Comparison {
        label: "  the writer's share: check (a reload) + zstd compression, off the room's thread",
        baseline: "the encode, as above",
        times: compare(
            pairs.min(11),
            || timed(|| f.live.encode_unchecked_snapshot(format).expect("encodes")),
            || {
                let unchecked = unchecked.clone();
                timed(move || unchecked.check().expect("faithful"))
            },
            |bytes| assert_eq!(bytes, f.snapshot_zstd),
        ),
        goal: None,
    });
    out
}

pub fn print(results: &[Comparison]) {
    let mut t = Table::new(&[
        "storage goal (paired, median of the pairs)",
        "baseline",
        "baseline time",
        "time",
        "median ratio",
        "ratio range",
    ]);
    for r in results {
        let ratios = r.ratios();
        t.row(vec![
            r.label.to_owned(),
            r.baseline.to_owned(),
            human_ns(r.median_ns(|t| t.0)),
            human_ns(r.median_ns(|t| t.1)),
            format!(
                "{:.2}x",
                ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
            ),
            format!(
                "{:.2}-{:.2}x",
                ratios.first().copied().unwrap_or(f64::NAN),
                ratios.last().copied().unwrap_or(f64::NAN)
            ),
        ]);
    }
    t.print();
    for r in results {
        if let Some((goal, bound)) = r.goal {
            let ratios = r.ratios();
            let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
            let met = ratio <= bound;
            println!(
                "goal '{goal}': median paired ratio {ratio:.2}x ({} pairs) -> {}",
                ratios.len(),
                if met { "MET" } else { "MISSED" }
            );
        }
    }
    println!();
}

//! Criterion plumbing: groups whose cases are checked before they are timed.

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};

use crate::timings;

/// A criterion group whose cases are checked before they are timed and whose iteration times
/// are kept for the summary.
pub struct Group<'a> {
    name: String,
    inner: BenchmarkGroup<'a, WallTime>,
}

impl<'a> Group<'a> {
    /// A group whose next cases are [`Group::long`] ones.
    pub fn new(c: &'a mut Criterion, name: &str) -> Self {
        let mut group = Group {
            name: name.to_owned(),
            inner: c.benchmark_group(name),
        };
        group.long();
        group
    }

    /// Cases from here on take 50 ms and more: 10 samples of one iteration each, after one
    /// warm-up iteration.
    pub fn long(&mut self) -> &mut Self {
        self.inner
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_millis(10));
        self
    }

    /// Cases from here on take milliseconds: 10 samples of as many iterations as fit in about
    /// two seconds.
    pub fn short(&mut self) -> &mut Self {
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
    pub fn case<S, R>(
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
    pub fn case_checked_by_fixture<S, R>(
        &mut self,
        id: &str,
        setup: impl FnMut() -> S,
        run: impl FnMut(S) -> R,
        check: impl FnMut(R),
    ) {
        self.timed(id, true, setup, run, check);
    }

    pub fn timed<S, R>(
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
                    timings::record(&key, took);
                    total += took;
                }
                total
            });
        });
    }
}

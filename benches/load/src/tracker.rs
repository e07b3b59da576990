//! Edit → delivery latency without tagging the text. Every edit a writer makes advances its
//! yrs clock, so an edit is identified by (writer's client id, clock at its end). The writer
//! logs that end clock with a monotonic send time *before* sending; a receiver decodes each
//! update it gets, takes the upper clock per client (`Update::state_vector`) and thereby knows
//! which edits of each writer just arrived, however the server batched or merged them
//! (Hocuspocus merges the updates of one event-loop turn). All clients live in this process,
//! so send and receive times come from the same `Instant` clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use yrs::{ClientID, StateVector};

/// The phases of a run, fixed once every client has synced.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Writers start.
    pub start: Instant,
    /// End of the warm-up: edits sent from here on are measured.
    pub measure_from: Instant,
    /// Writers stop; edits sent before this are measured.
    pub measure_until: Instant,
}

impl Schedule {
    pub fn measured(&self, at: Instant) -> bool {
        at >= self.measure_from && at < self.measure_until
    }
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    end_clock: u32,
    at: Instant,
}

/// One writer's edits in clock order.
#[derive(Debug, Default)]
pub struct SendLog {
    /// Appended by the writer's task, read by every receiver of its room; held only for a
    /// push or a binary search, never across an await.
    entries: Mutex<Vec<Sent>>,
}

impl SendLog {
    /// Records an edit ending at `end_clock`, about to be sent.
    pub fn push(&self, end_clock: u32, at: Instant) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(Sent { end_clock, at });
        }
    }

    /// Send times of the edits ending in (`after`, `upto`].
    fn sent_between(&self, after: u32, upto: u32, out: &mut Vec<Instant>) {
        let Ok(entries) = self.entries.lock() else {
            return;
        };
        let first = entries.partition_point(|s| s.end_clock <= after);
        out.extend(
            entries[first..]
                .iter()
                .take_while(|s| s.end_clock <= upto)
                .map(|s| s.at),
        );
    }
}

/// What one receiving client measured.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Latency in microseconds of every delivered measured edit.
    pub latencies_us: Vec<u32>,
    /// Deliveries (edit, receiver) that happened inside the measurement window.
    pub in_window: u64,
    /// Deliveries of measured edits, whenever they happened.
    pub measured: u64,
    /// All deliveries of other clients' edits.
    pub total: u64,
    /// When the last delivery happened.
    pub last: Option<Instant>,
    /// Highest clock received per writer (what this client has).
    pub seen: HashMap<ClientID, u32>,
    scratch: Vec<Instant>,
}

/// The send logs of every writer, shared by all clients of the run.
#[derive(Debug, Default)]
pub struct Tracker {
    logs: HashMap<ClientID, Arc<SendLog>>,
    schedule: OnceLock<Schedule>,
}

impl Tracker {
    /// A tracker for the writers `ids`, each with its own log.
    pub fn new(ids: impl IntoIterator<Item = ClientID>) -> Self {
        Tracker {
            logs: ids.into_iter().map(|id| (id, Arc::default())).collect(),
            schedule: OnceLock::new(),
        }
    }

    pub fn log(&self, id: ClientID) -> Option<Arc<SendLog>> {
        self.logs.get(&id).cloned()
    }

    pub fn set_schedule(&self, schedule: Schedule) {
        let _ = self.schedule.set(schedule);
    }

    pub fn schedule(&self) -> Option<Schedule> {
        self.schedule.get().copied()
    }

    /// Accounts for an update received at `now` by client `me`, whose upper clocks are `sv`.
    pub fn delivered(&self, me: ClientID, sv: &StateVector, now: Instant, d: &mut Deliveries) {
        let schedule = self.schedule();
        for (&client, &upto) in sv.iter() {
            if client == me {
                continue;
            }
            let Some(log) = self.logs.get(&client) else {
                continue;
            };
            let after = d.seen.get(&client).copied().unwrap_or(0);
            if upto <= after {
                continue;
            }
            d.seen.insert(client, upto);
            let mut sent = std::mem::take(&mut d.scratch);
            sent.clear();
            log.sent_between(after, upto, &mut sent);
            for &at in &sent {
                d.total += 1;
                d.last = Some(now);
                let Some(s) = schedule else { continue };
                if s.measured(now) {
                    d.in_window += 1;
                }
                if s.measured(at) {
                    d.measured += 1;
                    let us = now.saturating_duration_since(at).as_micros();
                    d.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            d.scratch = sent;
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `us` (sorted in place).
    pub fn of(us: &mut [u32]) -> Self {
        if us.is_empty() {
            return Percentiles::default();
        }
        us.sort_unstable();
        let rank = |p: f64| {
            let i = ((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1;
            f64::from(us[i]) / 1000.0
        };
        let sum: u64 = us.iter().map(|&x| u64::from(x)).sum();
        Percentiles {
            samples: us.len(),
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: f64::from(us[us.len() - 1]) / 1000.0,
            mean: sum as f64 / us.len() as f64 / 1000.0,
        }
    }
}

/// `d` as fractional seconds, for rates.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> ClientID {
        ClientID::new(n)
    }

    #[test]
    fn merged_updates_deliver_every_edit_they_cover_once() {
        let tracker = Tracker::new([id(1), id(2)]);
        let t0 = Instant::now();
        tracker.set_schedule(Schedule {
            start: t0,
            measure_from: t0,
            measure_until: t0 + Duration::from_secs(60),
        });
        let log = tracker.log(id(1)).unwrap();
        for (i, end) in [4, 8, 12].into_iter().enumerate() {
            log.push(end, t0 + Duration::from_millis(i as u64));
        }
        let mut d = Deliveries::default();
        let mut sv = StateVector::default();
        sv.set_max(id(1), 8);
        sv.set_max(id(3), 99);
        tracker.delivered(id(2), &sv, t0 + Duration::from_millis(10), &mut d);
        assert_eq!((d.total, d.measured), (2, 2));
        assert_eq!(d.latencies_us, vec![10_000, 9_000]);
        sv.set_max(id(1), 12);
        tracker.delivered(id(2), &sv, t0 + Duration::from_millis(10), &mut d);
        tracker.delivered(id(2), &sv, t0 + Duration::from_millis(20), &mut d);
        assert_eq!(d.total, 3);
        assert_eq!(d.seen[&id(1)], 12);
    }

    #[test]
    fn own_edits_echoed_back_are_not_deliveries() {
        let tracker = Tracker::new([id(1)]);
        tracker.log(id(1)).unwrap().push(3, Instant::now());
        let mut sv = StateVector::default();
        sv.set_max(id(1), 3);
        let mut d = Deliveries::default();
        tracker.delivered(id(1), &sv, Instant::now(), &mut d);
        assert_eq!(d.total, 0);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut us: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        let p = Percentiles::of(&mut us);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&mut []).samples, 0);
    }
}

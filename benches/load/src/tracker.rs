//! Edit → delivery latency. Typed edits carry a marker (`marker.rs`) that readers find in the
//! frame's bytes, and their send time is looked up by the marker (`marks.rs`). A trace replay
//! cannot mark its text (it must end as the trace's `endContent`), so for it an edit is
//! identified without tagging the text: every edit a writer makes advances its
//! yrs clock, so an edit is identified by (writer's client id, clock at its end). The writer
//! logs that end clock with a monotonic send time *before* sending; a receiver decodes each
//! update it gets, takes the upper clock per client (`Update::state_vector`) and thereby knows
//! which edits of each writer just arrived, however the server batched or merged them
//! (Hocuspocus merges the updates of one event-loop turn). All clients live in this process,
//! so send and receive times come from the same `Instant` clock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use yrs::{ClientID, StateVector};

use crate::marker;
use crate::marks::Marks;

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

/// The highest clock or marker sequence number received, per writer: looked up for every
/// delivered edit (1.6 million a second at the top fan-out step), where the standard library's
/// SipHash took 13.5% of the generator's CPU.
pub type Seen = HashMap<ClientID, u32, BuildHasherDefault<IdHasher>>;

/// A hasher for client ids, which are random numbers already: one multiplication spreads them
/// over the table's buckets.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
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
    /// Frames and their bytes (WebSocket payloads) received inside the measurement window.
    pub frames: u64,
    pub bytes: u64,
    /// Highest clock (a replay) or marker sequence number (typing) received per writer.
    pub seen: Seen,
    scratch: Vec<Instant>,
}

impl Deliveries {
    /// Counts one delivery at `now` of an edit sent `at`.
    fn count(&mut self, at: Instant, now: Instant, schedule: Option<Schedule>) {
        self.total += 1;
        self.last = Some(now);
        let Some(s) = schedule else { return };
        if s.measured(now) {
            self.in_window += 1;
        }
        if s.measured(at) {
            self.measured += 1;
            let us = now.saturating_duration_since(at).as_micros();
            self.latencies_us
                .push(u32::try_from(us).unwrap_or(u32::MAX));
        }
    }

    /// Counts a frame of `len` bytes received at `now`.
    pub fn frame(&mut self, len: usize, now: Instant, schedule: Option<Schedule>) {
        if schedule.is_some_and(|s| s.measured(now)) {
            self.frames += 1;
            self.bytes += len as u64;
        }
    }
}

/// The send logs of every writer, shared by all clients of the run.
pub struct Tracker {
    logs: HashMap<ClientID, Arc<SendLog>>,
    pub marks: Marks,
    schedule: OnceLock<Schedule>,
}

impl Tracker {
    /// A tracker for the writers `ids` (in the order of their marker index), each with its own
    /// clock log and room for `capacity` marked edits.
    pub fn new(ids: impl IntoIterator<Item = ClientID>, capacity: usize) -> Self {
        let ids: Vec<ClientID> = ids.into_iter().collect();
        Tracker {
            logs: ids.iter().map(|&id| (id, Arc::default())).collect(),
            marks: Marks::new(ids, capacity),
            schedule: OnceLock::new(),
        }
    }

    /// Accounts for the marked edits of `bytes` (an update, merged or not) received at `now`
    /// by client `me`: each marker of another writer's edit not seen yet is one delivery.
    pub fn marked(&self, me: ClientID, bytes: &[u8], now: Instant, d: &mut Deliveries) {
        let schedule = self.schedule();
        marker::scan(bytes, |writer, seq| {
            let Some((client, at)) = self.marks.sent(writer, seq) else {
                return;
            };
            if client == me {
                return;
            }
            let last = d.seen.entry(client).or_insert(0);
            if seq <= *last {
                return;
            }
            *last = seq;
            d.count(at, now, schedule);
        });
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
                d.count(at, now, schedule);
            }
            d.scratch = sent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(n: u64) -> ClientID {
        ClientID::new(n)
    }

    /// Writers 1 and 2 (room for `capacity` marked edits each), measuring from now for a minute.
    fn measuring(capacity: usize) -> (Tracker, Instant) {
        let tracker = Tracker::new([id(1), id(2)], capacity);
        let t0 = Instant::now();
        tracker.set_schedule(Schedule {
            start: t0,
            measure_from: t0,
            measure_until: t0 + Duration::from_secs(60),
        });
        (tracker, t0)
    }

    #[test]
    fn merged_updates_deliver_every_edit_they_cover_once() {
        let (tracker, t0) = measuring(0);
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
    fn each_marker_is_one_delivery_once_and_never_of_our_own_edits() {
        let (tracker, t0) = measuring(8);
        for seq in 1..=3 {
            tracker.marks.record(0, seq, t0);
        }
        tracker.marks.record(1, 1, t0);
        let frame: String = [(0, 1), (0, 2), (1, 1), (0, 9)]
            .map(|(w, s)| crate::marker::encode(w, s))
            .concat();
        let mut d = Deliveries::default();
        let now = t0 + Duration::from_millis(5);
        tracker.marked(id(2), frame.as_bytes(), now, &mut d);
        // (0, 9) was never sent; (1, 1) is our own.
        assert_eq!((d.total, d.in_window, d.latencies_us.len()), (2, 2, 2));
        assert_eq!(d.latencies_us, [5_000, 5_000]);
        // A resend of edit 2 with edit 3 counts edit 3 alone.
        let again = crate::marker::encode(0, 2) + &crate::marker::encode(0, 3);
        tracker.marked(id(2), again.as_bytes(), now, &mut d);
        assert_eq!(d.total, 3);
        assert_eq!(d.seen[&id(1)], 3);
    }

    #[test]
    fn own_edits_echoed_back_are_not_deliveries() {
        let tracker = Tracker::new([id(1)], 0);
        tracker.log(id(1)).unwrap().push(3, Instant::now());
        let mut sv = StateVector::default();
        sv.set_max(id(1), 3);
        let mut d = Deliveries::default();
        tracker.delivered(id(1), &sv, Instant::now(), &mut d);
        assert_eq!(d.total, 0);
    }
}

//! When a room's relay goes out: at once, or at the end of the tick. A room whose delivery rate
//! (frames it queues for its connections per second) is below the threshold relays everything
//! at once, as a quiet room always did. Above it, a relay goes out at once when nothing of its
//! kind went out in the last tick; otherwise it waits, with everything else that comes, until
//! that tick ends (a tick after the last send), and all of it goes out merged. So a lone
//! keystroke never waits, and under load each connection gets one frame of each kind per tick.
//! Pure state, on a clock passed in: the room calls it with `Instant::now()`, the tests with
//! made-up instants.

use std::time::Duration;

use tokio::time::Instant;

/// The window over which a room's delivery rate is counted.
pub(crate) const RATE_WINDOW: Duration = Duration::from_millis(100);

/// How a room paces its relays (`--fanout-tick-ms`, `--fanout-threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pacing {
    /// How long relays wait at most; zero relays everything at once.
    pub tick: Duration,
    /// Deliveries per second (relays times the connections each reaches) from which a room
    /// batches.
    pub threshold: u64,
}

/// A room's delivery rate, counted per [`RATE_WINDOW`].
#[derive(Debug)]
struct Meter {
    window_start: Instant,
    /// Deliveries in the current window.
    count: u64,
    /// Whether the last complete window was over the threshold.
    busy: bool,
}

impl Meter {
    fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            count: 0,
            busy: false,
        }
    }

    /// Counts `deliveries` at `now`; whether the room is busy: over `threshold` deliveries per
    /// second in the last window, or already in this one.
    fn record(&mut self, now: Instant, deliveries: u64, threshold: u64) -> bool {
        let window_ms = RATE_WINDOW.as_millis() as u64;
        let over = |count: u64| count.saturating_mul(1000) >= threshold.saturating_mul(window_ms);
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= RATE_WINDOW {
            // A window with nothing in it (a pause longer than a window) is a quiet one.
            self.busy = elapsed < 2 * RATE_WINDOW && over(self.count);
            self.window_start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(deliveries);
        self.busy || over(self.count)
    }
}

/// One kind of relay's pace (document updates and awareness go separately, so that a cursor
/// move never holds up the keystroke after it).
#[derive(Debug, Default)]
struct Kind {
    /// When the last relay of this kind went out.
    last: Option<Instant>,
    /// When the relays waiting go out; `None` when none wait.
    due: Option<Instant>,
}

/// Which kind a relay is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelayKind {
    Update,
    Awareness,
}

/// A room's pacing state.
#[derive(Debug)]
pub(crate) struct Pacer {
    pacing: Pacing,
    meter: Meter,
    update: Kind,
    awareness: Kind,
}

impl Pacer {
    pub(crate) fn new(pacing: Pacing, now: Instant) -> Self {
        Self {
            pacing,
            meter: Meter::new(now),
            update: Kind::default(),
            awareness: Kind::default(),
        }
    }

    fn kind(&mut self, kind: RelayKind) -> &mut Kind {
        match kind {
            RelayKind::Update => &mut self.update,
            RelayKind::Awareness => &mut self.awareness,
        }
    }

    /// A relay of `kind` reaching `audience` connections, at `now`: `true` when it goes out at
    /// once, `false` when it waits for [`Pacer::due`].
    pub(crate) fn offer(&mut self, kind: RelayKind, now: Instant, audience: usize) -> bool {
        let busy = self
            .meter
            .record(now, audience as u64, self.pacing.threshold);
        let tick = self.pacing.tick;
        let state = self.kind(kind);
        if state.due.is_some() {
            return false;
        }
        match state.last {
            Some(last) if busy && !tick.is_zero() && now < last + tick => {
                state.due = Some(last + tick);
                false
            }
            _ => {
                state.last = Some(now);
                true
            }
        }
    }

    /// When the earliest waiting relays go out.
    pub(crate) fn due(&self) -> Option<Instant> {
        match (self.update.due, self.awareness.due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether relays of `kind` wait.
    pub(crate) fn waiting(&self, kind: RelayKind) -> bool {
        match kind {
            RelayKind::Update => self.update.due.is_some(),
            RelayKind::Awareness => self.awareness.due.is_some(),
        }
    }

    /// The relays of `kind` that waited went out at `now` (at their time, or earlier because
    /// a frame that must not overtake them was sent).
    pub(crate) fn sent(&mut self, kind: RelayKind, now: Instant) {
        let state = self.kind(kind);
        if state.due.take().is_some() {
            state.last = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Pacer, Pacing, RelayKind, RATE_WINDOW};
    use std::time::Duration;
    use tokio::time::Instant;

    const TICK: Duration = Duration::from_millis(10);
    const UPDATE: RelayKind = RelayKind::Update;
    const AWARENESS: RelayKind = RelayKind::Awareness;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A pacer that batches from 2,000 deliveries per second, and the clock's start.
    fn pacer() -> (Pacer, Instant) {
        let t0 = Instant::now();
        let pacing = Pacing {
            tick: TICK,
            threshold: 2_000,
        };
        (Pacer::new(pacing, t0), t0)
    }

    #[test]
    fn a_lone_keystroke_goes_out_at_once_even_in_a_crowded_room() {
        let (mut p, t0) = pacer();
        // 1,000 readers: one keystroke alone is already over the threshold.
        assert!(p.offer(UPDATE, t0, 1_000));
        assert_eq!(p.due(), None);
        // The next one comes after a whole tick: at once too.
        assert!(p.offer(UPDATE, t0 + TICK, 1_000));
        assert!(p.offer(UPDATE, t0 + ms(25), 1_000));
        assert_eq!(p.due(), None);
    }

    #[test]
    fn in_a_busy_room_what_follows_within_the_tick_waits_for_its_end() {
        let (mut p, t0) = pacer();
        assert!(p.offer(UPDATE, t0, 300), "the first goes at once");
        assert!(!p.offer(UPDATE, t0 + ms(2), 300), "the second waits");
        assert_eq!(p.due(), Some(t0 + TICK), "until a tick after the first");
        assert!(!p.offer(UPDATE, t0 + ms(9), 300), "and so does the third");
        assert_eq!(p.due(), Some(t0 + TICK), "the end does not move");
        p.sent(UPDATE, t0 + TICK);
        assert_eq!(p.due(), None);
        // Still busy: the next tick starts at the send.
        assert!(!p.offer(UPDATE, t0 + ms(12), 300));
        assert_eq!(p.due(), Some(t0 + ms(20)));
        p.sent(UPDATE, t0 + ms(20));
        // A tick with nothing: at once again.
        assert!(p.offer(UPDATE, t0 + ms(31), 300));
    }

    #[test]
    fn a_room_below_the_threshold_never_waits() {
        let (mut p, t0) = pacer();
        // A keystroke every 2 ms to 3 readers: 1,500 deliveries per second.
        for i in 0..100 {
            assert!(p.offer(UPDATE, t0 + ms(2 * i), 3), "relay {i}");
        }
        assert_eq!(p.due(), None);
    }

    #[test]
    fn a_room_that_calms_down_stops_batching() {
        let (mut p, t0) = pacer();
        for i in 0..10 {
            p.offer(UPDATE, t0 + ms(i), 300);
        }
        assert!(p.due().is_some());
        p.sent(UPDATE, t0 + TICK);
        // After a pause longer than the rate window, the room counts as quiet: two relays in
        // quick succession to a few readers both go at once.
        let later = t0 + 3 * RATE_WINDOW;
        assert!(p.offer(UPDATE, later, 3));
        assert!(p.offer(UPDATE, later + ms(1), 3));
    }

    #[test]
    fn updates_and_awareness_are_paced_apart() {
        let (mut p, t0) = pacer();
        assert!(p.offer(AWARENESS, t0, 300));
        // A keystroke right after a cursor move is not held up by it.
        assert!(p.offer(UPDATE, t0 + ms(1), 300));
        assert!(!p.offer(AWARENESS, t0 + ms(2), 300));
        assert!(p.waiting(AWARENESS));
        assert!(!p.waiting(UPDATE));
        assert!(!p.offer(UPDATE, t0 + ms(3), 300));
        assert_eq!(p.due(), Some(t0 + TICK), "the awareness tick ends first");
        p.sent(AWARENESS, t0 + TICK);
        assert_eq!(p.due(), Some(t0 + ms(11)), "then the updates' tick");
    }

    #[test]
    fn a_tick_of_zero_relays_everything_at_once() {
        let t0 = Instant::now();
        let pacing = Pacing {
            tick: Duration::ZERO,
            threshold: 0,
        };
        let mut p = Pacer::new(pacing, t0);
        for i in 0..10 {
            assert!(p.offer(UPDATE, t0 + Duration::from_micros(i), 1_000));
        }
    }
}

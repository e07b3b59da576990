//! When a room's relay goes out: at once, or at the end of the tick. Each kind (updates,
//! awareness) counts as busy when, over the last [`RATE_WINDOW`], it made more deliveries per
//! second (relays times the connections each reaches) than the threshold and came at one and a
//! quarter relays per tick or more: below either, merging would save little (one relay per tick
//! merges with nothing and only waits), and the kind relays everything at once, as a quiet room
//! always did.
//! A busy kind sends a relay at once when nothing of it went out in the last tick; otherwise the
//! relay waits, with everything else that comes, until that tick ends (a tick after the last
//! send), and all of it goes out merged. So a lone keystroke never waits, and under load each
//! connection gets one frame of each kind per tick.
//! A busy room's tick grows with its audience: frames cost the server per connection, so a room
//! whose connections would take more than `frames_per_sec` frames a second at the base tick
//! waits longer (audience / `frames_per_sec`), up to [`MAX_TICKS`] base ticks, and merges more
//! edits into each frame.
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
    /// Frames per second of one kind a busy room aims to send at most, all its connections
    /// together: its tick is at least its audience divided by this (0: always the base tick).
    pub frames_per_sec: u64,
}

/// The longest a busy room's tick grows, in base ticks (25 ms at the default 5 ms).
pub(crate) const MAX_TICKS: u32 = 5;

impl Pacing {
    /// The tick of a busy room whose relays reach `audience` connections.
    pub(crate) fn tick_for(&self, audience: usize) -> Duration {
        if self.frames_per_sec == 0 || self.tick.is_zero() {
            return self.tick;
        }
        let audience = u64::try_from(audience).unwrap_or(u64::MAX);
        let micros = audience.saturating_mul(1_000_000) / self.frames_per_sec;
        Duration::from_micros(micros).clamp(self.tick, self.tick * MAX_TICKS)
    }
}

/// Relays per tick from which a kind counts as busy, in quarters: one and a quarter (250 relays
/// a second at the default 5 ms, 25 in a rate window). At two, rooms of 16 typists at 20
/// keystrokes a second (320 relays a second) never merged and sent one frame per edit; at one
/// and a half (30 in a window) they hovered on the line, their windows of 25 to 35 relays
/// flipping the room between merging and not, and their CPU per edit varied by a third from run
/// to run; at one, 8 typists (160 a second) were held often enough to lose 5 ms of p99 for 6% of
/// CPU. At one and a quarter the two sit 7 to 9 relays a window either side of the line.
const MIN_QUARTER_RELAYS_PER_TICK: u128 = 5;

/// One kind's rate, counted per [`RATE_WINDOW`].
#[derive(Debug, Default)]
struct Meter {
    window_start: Option<Instant>,
    /// Relays and deliveries in the current window.
    relays: u64,
    deliveries: u64,
    /// Whether the last complete window was busy.
    busy: bool,
}

impl Meter {
    /// Counts a relay of `deliveries` at `now`; whether the kind is busy, in the last window or
    /// already in this one.
    fn record(&mut self, now: Instant, deliveries: u64, pacing: &Pacing) -> bool {
        let busy = |relays: u64, deliveries: u64| {
            let window = RATE_WINDOW.as_micros();
            u128::from(deliveries) * 1_000_000 >= u128::from(pacing.threshold) * window
                && 4 * u128::from(relays) * pacing.tick.as_micros()
                    >= MIN_QUARTER_RELAYS_PER_TICK * window
        };
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            // A window with nothing in it (a pause longer than a window) is a quiet one.
            self.busy = elapsed < 2 * RATE_WINDOW && busy(self.relays, self.deliveries);
            self.window_start = Some(now);
            (self.relays, self.deliveries) = (0, 0);
        }
        self.relays += 1;
        self.deliveries = self.deliveries.saturating_add(deliveries);
        self.busy || busy(self.relays, self.deliveries)
    }
}

/// One kind of relay's pace (document updates and awareness go separately, so that a cursor
/// move never holds up the keystroke after it).
#[derive(Debug, Default)]
struct Kind {
    meter: Meter,
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
    update: Kind,
    awareness: Kind,
}

impl Pacer {
    pub(crate) fn new(pacing: Pacing) -> Self {
        Self {
            pacing,
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
        let pacing = self.pacing;
        let tick = pacing.tick_for(audience);
        let state = self.kind(kind);
        let busy = state.meter.record(now, audience as u64, &pacing);
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

    /// A pacer that batches from 2,000 deliveries per second and 1.25 relays per tick.
    fn pacer() -> (Pacer, Instant) {
        let pacing = Pacing {
            tick: TICK,
            threshold: 2_000,
            frames_per_sec: 0,
        };
        (Pacer::new(pacing), Instant::now())
    }

    /// Makes `kind` busy: 30 relays to 300 readers in 60 ms from `t0`, what waits sent at the
    /// end, which is returned.
    fn burst(p: &mut Pacer, kind: RelayKind, t0: Instant) -> Instant {
        for i in 0..30 {
            p.offer(kind, t0 + ms(2 * i), 300);
        }
        assert!(p.waiting(kind), "busy");
        p.sent(kind, t0 + ms(60));
        t0 + ms(60)
    }

    #[test]
    fn a_lone_keystroke_goes_out_at_once_even_in_a_busy_room() {
        let (mut p, t0) = pacer();
        let t1 = burst(&mut p, UPDATE, t0);
        // A tick after the last send: at once, and so is the next one after another tick.
        assert!(p.offer(UPDATE, t1 + TICK, 300));
        assert!(p.offer(UPDATE, t1 + ms(25), 300));
        assert_eq!(p.due(), None);
    }

    #[test]
    fn in_a_busy_room_what_follows_within_the_tick_waits_for_its_end() {
        let (mut p, t0) = pacer();
        let t1 = burst(&mut p, UPDATE, t0);
        assert!(!p.offer(UPDATE, t1 + ms(2), 300), "within the tick: waits");
        assert_eq!(p.due(), Some(t1 + TICK), "until a tick after the last send");
        assert!(!p.offer(UPDATE, t1 + ms(9), 300), "and so does the next");
        assert_eq!(p.due(), Some(t1 + TICK), "the end does not move");
        p.sent(UPDATE, t1 + TICK);
        assert_eq!(p.due(), None);
        // Still busy: the next tick starts at the send.
        assert!(!p.offer(UPDATE, t1 + ms(12), 300));
        assert_eq!(p.due(), Some(t1 + ms(20)));
        p.sent(UPDATE, t1 + ms(20));
        // A tick with nothing: at once again.
        assert!(p.offer(UPDATE, t1 + ms(31), 300));
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
    fn fewer_than_one_and_a_quarter_relays_per_tick_never_wait() {
        let (mut p, t0) = pacer();
        // A keystroke every 9 ms to 1,000 readers: far over the deliveries, but a tick would
        // mostly hold one relay, which merges with nothing.
        for i in 0..100 {
            assert!(p.offer(UPDATE, t0 + ms(9 * i), 1_000), "relay {i}");
        }
    }

    #[test]
    fn a_room_at_one_and_a_third_relays_per_tick_merges() {
        let (mut p, t0) = pacer();
        // A keystroke every 7.5 ms to 300 readers: 1.33 per tick, 13 in a rate window. Once a
        // window has counted them, some wait for the end of the tick.
        let held = (0..60)
            .filter(|&i| !p.offer(UPDATE, t0 + Duration::from_micros(7_500 * i), 300))
            .count();
        assert!(held > 0, "relays 1.33 per tick apart are merged");
    }

    #[test]
    fn a_room_that_calms_down_stops_batching() {
        let (mut p, t0) = pacer();
        burst(&mut p, UPDATE, t0);
        // After a pause longer than the rate window the room counts as quiet: two relays in
        // quick succession both go at once.
        let later = t0 + 3 * RATE_WINDOW;
        assert!(p.offer(UPDATE, later, 300));
        assert!(p.offer(UPDATE, later + ms(1), 300));
    }

    #[test]
    fn updates_and_awareness_are_paced_apart() {
        let (mut p, t0) = pacer();
        burst(&mut p, UPDATE, t0);
        let t1 = burst(&mut p, AWARENESS, t0);
        assert!(p.offer(AWARENESS, t1 + TICK, 300));
        // A keystroke right after a cursor move is not held up by it.
        assert!(p.offer(UPDATE, t1 + ms(11), 300));
        assert!(!p.offer(AWARENESS, t1 + ms(12), 300));
        assert!(p.waiting(AWARENESS));
        assert!(!p.waiting(UPDATE));
        assert!(!p.offer(UPDATE, t1 + ms(13), 300));
        assert_eq!(p.due(), Some(t1 + ms(20)), "the awareness tick ends first");
        p.sent(AWARENESS, t1 + ms(20));
        assert_eq!(p.due(), Some(t1 + ms(21)), "then the updates' tick");
    }

    #[test]
    fn a_tick_of_zero_relays_everything_at_once() {
        let pacing = Pacing {
            tick: Duration::ZERO,
            threshold: 0,
            frames_per_sec: 60_000,
        };
        let (mut p, t0) = (Pacer::new(pacing), Instant::now());
        for i in 0..100 {
            assert!(p.offer(UPDATE, t0 + Duration::from_micros(i), 1_000));
        }
    }

    #[test]
    fn a_busy_room_s_tick_grows_with_its_audience_up_to_five_ticks() {
        let pacing = Pacing {
            tick: TICK,
            threshold: 2_000,
            frames_per_sec: 60_000,
        };
        // 300 connections at 10 ms make 30,000 frames a second: the base tick.
        assert_eq!(pacing.tick_for(300), TICK);
        assert_eq!(
            pacing.tick_for(1_200),
            ms(20),
            "60,000 frames a second at 20 ms"
        );
        assert_eq!(
            pacing.tick_for(100_000),
            TICK * 5,
            "never longer than five ticks"
        );
        let (mut p, t0) = (Pacer::new(pacing), Instant::now());
        let t1 = {
            for i in 0..30 {
                p.offer(UPDATE, t0 + ms(2 * i), 1_200);
            }
            p.sent(UPDATE, t0 + ms(60));
            t0 + ms(60)
        };
        assert!(
            !p.offer(UPDATE, t1 + ms(12), 1_200),
            "within its longer tick: waits"
        );
        assert_eq!(p.due(), Some(t1 + ms(20)));
        p.sent(UPDATE, t1 + ms(20));
        assert!(
            p.offer(UPDATE, t1 + ms(41), 1_200),
            "a whole tick with nothing: at once"
        );
    }
}

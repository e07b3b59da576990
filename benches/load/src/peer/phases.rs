//! The phases of a load client once it has synced: wait for the start, type or replay (or
//! just receive) until the writers stop, then drain until every edit of the room has arrived.

use std::time::{Duration, Instant};

use chatspace_crdt::codec::client::query_awareness_frame;
use chatspace_crdt::codec::update_frame;
use rand::Rng;
use tokio::time::{interval_at, Interval, MissedTickBehavior};

use super::{next, tick, Interrupt, Peer, Role, CHECK_EVERY, HOCUSPOCUS_KEEPALIVE, MAX_RECONNECTS};
use crate::agent::Step;
use crate::marker;
use crate::mix::Chatter;
use crate::replica::Replica;
use crate::tracker::Schedule;
use crate::wire::Framing;

/// Transactions a flat-out agent makes at most before it yields.
const AGENT_BURST: usize = 32;

impl Peer {
    /// Waits for the start, runs the load, drains. Errors are fatal to this client.
    pub(super) async fn work(&mut self) -> Result<(), String> {
        let schedule = self.wait_for_go().await?;
        let mut edits = self.edit_timer(&schedule);
        let mut keepalive = (self.shared.framing == Framing::Hocuspocus).then(|| {
            let first = tokio::time::Instant::now() + HOCUSPOCUS_KEEPALIVE;
            tokio::time::interval_at(first, HOCUSPOCUS_KEEPALIVE)
        });
        // Phases change on a coarse tick rather than through timers and watch futures in the
        // select, which would be re-armed for every frame received.
        let mut check = tokio::time::interval(CHECK_EVERY);
        check.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let stop = schedule.measure_until;
        let drain_end = stop + self.shared.drain;
        let mut typing = true;
        loop {
            let outcome = tokio::select! {
                received = next(&mut self.link) => match self.handle(received).await {
                    // Replaying flat out, an agent goes on as soon as what it waits for arrives.
                    Ok(_) if typing && self.flat_out() => self.edit(&schedule).await,
                    other => other.map(|_| ()),
                },
                () = tick(&mut edits), if typing => self.edit(&schedule).await,
                () = tick(&mut keepalive) => self.send(query_awareness_frame()).await,
                _ = check.tick() => Ok(()),
            };
            self.recover(outcome).await?;
            if typing {
                let since = self.since_due(&schedule).await;
                self.recover(since).await?;
            }
            let now = Instant::now();
            // Receivers stop waiting for the end of the window once every writer has stopped.
            let writers_done = self.shared.targets.borrow().is_some();
            if typing && (now >= stop || self.agent_done() || writers_done) {
                typing = false;
                self.report_finish();
            }
            if !typing && self.complete()? {
                self.report.complete = true;
                return Ok(());
            }
            if now >= drain_end {
                return Err("not all edits arrived before the drain deadline".into());
            }
        }
    }

    /// Keeps the connection served until the orchestrator publishes the schedule.
    async fn wait_for_go(&mut self) -> Result<Schedule, String> {
        let mut go = self.shared.go.clone();
        loop {
            if let Some(schedule) = *go.borrow_and_update() {
                return Ok(schedule);
            }
            tokio::select! {
                changed = go.changed() => changed.map_err(|_| "the run was called off".to_owned())?,
                received = next(&mut self.link) => {
                    let outcome = self.handle(received).await;
                    self.recover(outcome).await?;
                }
            }
        }
    }

    fn agent_done(&self) -> bool {
        matches!(&self.role, Role::Agent { agent, .. } if agent.made() == agent.total())
    }

    /// Whether everything the writers of our room sent has arrived (and, for an agent, is in
    /// its document).
    fn complete(&mut self) -> Result<bool, String> {
        let targets = self.shared.targets.borrow().clone();
        let Some(target) = targets.as_ref().and_then(|t| t.get(self.room)) else {
            return Ok(false);
        };
        let seen = &self.report.deliveries.seen;
        let arrived = target
            .iter()
            .all(|(c, &clock)| *c == self.id || seen.get(c).is_some_and(|&s| s >= clock));
        match (&mut self.role, &self.replica) {
            (Role::Agent { agent, .. }, Replica::Full(doc)) if arrived => agent.catch_up(doc, seen),
            _ => Ok(arrived),
        }
    }

    fn edit_timer(&mut self, schedule: &Schedule) -> Option<Interval> {
        let (rate, mix) = match self.role {
            Role::Writer { rate, .. } => (rate, self.shared.mix),
            Role::Agent { rate, .. } if rate > 0.0 => (rate, None),
            Role::Agent { .. } => (1000.0, None),
            Role::Receiver => return None,
        };
        // With the mix, a writer pauses between bursts and types faster inside them.
        let rate = rate * mix.map_or(1.0, |m| m.speed_up());
        let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
        // Writers start at random offsets within one period, so they do not type in lockstep;
        // with the mix, at random points of their burst-and-pause cycles.
        let offset = period.mul_f64(self.rng.gen::<f64>());
        if let Some(mix) = mix {
            let cycle = Duration::from_secs_f64(mix.burst_secs + mix.pause_secs);
            let into = cycle.mul_f64(self.rng.gen::<f64>());
            let began = schedule.start.checked_sub(into).unwrap_or(schedule.start);
            let first_chat = self.rng.gen::<f64>();
            self.chatter = Some(Chatter::new(&mix, began, rate, first_chat));
        }
        let start = tokio::time::Instant::from_std(schedule.start) + offset;
        let mut timer = interval_at(start, period);
        timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Some(timer)
    }

    /// One tick of a writer or agent.
    /// An agent replaying as fast as the causal order allows.
    fn flat_out(&self) -> bool {
        matches!(self.role, Role::Agent { rate, .. } if rate <= 0.0)
    }

    /// One tick: a writer makes one edit; an agent one transaction, or while flat out as many
    /// as are ready (up to [`AGENT_BURST`], then it lets the other clients run).
    async fn edit(&mut self, schedule: &Schedule) -> Result<(), Interrupt> {
        if let Some(chatter) = &self.chatter {
            if !chatter.typing(Instant::now()) {
                return Ok(());
            }
        }
        let burst = if self.flat_out() { AGENT_BURST } else { 1 };
        let mut made = false;
        for _ in 0..burst {
            if !self.edit_once(schedule).await? {
                break;
            }
            made = true;
        }
        let chat = match &mut self.chatter {
            Some(chatter) if made => chatter.edited(Instant::now(), self.id.get(), schedule),
            _ => None,
        };
        match chat {
            Some(frame) => self.send(frame).await,
            None => Ok(()),
        }
    }

    /// Sends the page's `since` when one is due (`--mix`).
    async fn since_due(&mut self, schedule: &Schedule) -> Result<(), Interrupt> {
        let due = match &mut self.chatter {
            Some(chatter) => chatter.since_due(Instant::now(), schedule),
            None => None,
        };
        match due {
            Some(frame) => self.send(frame).await,
            None => Ok(()),
        }
    }

    /// Makes and sends one edit; false when there was none to make.
    async fn edit_once(&mut self, schedule: &Schedule) -> Result<bool, Interrupt> {
        let Replica::Full(doc) = &self.replica else {
            return Ok(false);
        };
        let made = match &mut self.role {
            Role::Writer {
                index,
                made,
                chunk,
                run,
                window,
                cursor,
                ..
            } => {
                let seq = *made + 1;
                if !self.shared.tracker.marks.has_room(*index, seq) {
                    return Ok(false);
                }
                // Remote inserts before the cursor are not tracked: it may drift a little,
                // like a cursor that was not updated, but it always stays inside the text.
                let len = doc.len();
                let (pos, left) = match *cursor {
                    Some((pos, left)) if left > 0 && pos <= len => (pos, left),
                    _ => {
                        let end = if *window == 0 { len } else { len.min(*window) };
                        (self.rng.gen_range(0..=end), (*run).max(1))
                    }
                };
                let mut text = marker::encode(*index, seq);
                text.extend((0..*chunk).map(|_| self.rng.gen_range(b'a'..=b'z') as char));
                let update = doc
                    .splice(&[(pos, 0, &text)], false)
                    .map_err(Interrupt::Fatal)?;
                *cursor = Some((pos + text.len() as u32, left - 1));
                *made = seq;
                Some((update, doc.own_clock()))
            }
            Role::Agent { agent, .. } => match agent
                .step(doc, &self.report.deliveries.seen)
                .map_err(Interrupt::Fatal)?
            {
                Step::Edit(update, end) => Some((update, end)),
                Step::Blocked | Step::Done => None,
            },
            Role::Receiver => None,
        };
        let Some((update, end)) = made else {
            return Ok(false);
        };
        let now = Instant::now();
        match self.role {
            Role::Writer { index, made, .. } => {
                self.shared.tracker.marks.record(index, made, now);
            }
            _ => {
                if let Some(log) = self.shared.tracker.log(self.id) {
                    log.push(end, now);
                }
            }
        }
        self.report.sent += 1;
        self.report.sent_measured += u64::from(schedule.measured(now));
        self.send(update_frame(&update)).await.map(|()| true)
    }

    /// After a lost connection: reconnect and resync (what we lack comes in the server's step
    /// 2, what it lacks goes up in ours), at most [`MAX_RECONNECTS`] times.
    pub(super) async fn recover<T>(&mut self, outcome: Result<T, Interrupt>) -> Result<(), String> {
        let reason = match outcome {
            Ok(_) => return Ok(()),
            Err(Interrupt::Fatal(reason)) => return Err(reason),
            Err(Interrupt::Lost(reason)) => reason,
        };
        self.link = None;
        self.report
            .errors
            .push(format!("connection lost: {reason}"));
        while self.report.reconnects < MAX_RECONNECTS {
            self.report.reconnects += 1;
            tokio::time::sleep(Duration::from_millis(
                100 * u64::from(self.report.reconnects),
            ))
            .await;
            match self.connect().await {
                Ok(()) => return Ok(()),
                Err(error) => self
                    .report
                    .errors
                    .push(format!("reconnect failed: {error}")),
            }
        }
        Err(format!("gave up after {MAX_RECONNECTS} reconnects"))
    }
}

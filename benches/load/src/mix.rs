//! The room page's chat traffic besides typing (`--mix`, ChatSpace only: the Node servers do
//! not speak the chat frames). What the page does, and so what a writer does here:
//! - people type in bursts and pause: a writer types for `--burst-secs`, then pauses for
//!   `--pause-secs`, typing a little faster inside the bursts so that its mean rate is still
//!   `--rate`;
//! - 0.4 s after the last edit (the page's `BARRIER_DELAY_MS`) the page sends a chat `since`
//!   from the highest message id it has seen, one at a time, to learn that its edits are stored
//!   ("All changes saved"); so each pause brings one `since`, and its `history` answer;
//! - now and then a chat message: one `send` per `--chat-every-secs` of typing, acknowledged to
//!   the writer and broadcast to the room.
//!
//! The generator measures how long a `send` waits for its `ack` and a `since` for its
//! `history`, for the messages sent inside the measured window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chatspace_crdt::codec::client::{chat_send_frame, chat_since_frame};
use chatspace_crdt::codec::ChatEvent;
use serde::Serialize;

use crate::percentiles::Percentiles;
use crate::tracker::Schedule;

/// How long the page waits after the last edit before it sends `since`.
pub const SINCE_DELAY: Duration = Duration::from_millis(400);

/// The mix's options.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct MixArgs {
    /// Also send the room page's chat traffic (ChatSpace only): typing in bursts, a `since`
    /// after each pause, a chat message now and then.
    #[arg(long)]
    pub mix: bool,
    /// With --mix: seconds a writer types before it pauses.
    #[arg(long, default_value_t = 3.0)]
    pub burst_secs: f64,
    /// With --mix: seconds of each pause (the page sends `since` 0.4 s into it).
    #[arg(long, default_value_t = 0.6)]
    pub pause_secs: f64,
    /// With --mix: seconds of typing between two chat messages of a writer.
    #[arg(long, default_value_t = 10.0)]
    pub chat_every_secs: f64,
}

impl MixArgs {
    /// Why these options cannot be used, if they cannot.
    pub fn problem(&self) -> Option<&'static str> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        match self.mix {
            false => None,
            true if !positive(self.burst_secs) || !positive(self.chat_every_secs) => {
                Some("--burst-secs and --chat-every-secs must be positive")
            }
            true if !(self.pause_secs.is_finite()
                && self.pause_secs > SINCE_DELAY.as_secs_f64()) =>
            {
                Some("--pause-secs must be longer than the page's 0.4 s before `since`")
            }
            true => None,
        }
    }

    /// How much faster than its mean rate a writer types inside a burst.
    pub fn speed_up(&self) -> f64 {
        (self.burst_secs + self.pause_secs) / self.burst_secs
    }
}

/// One writer's chat side.
pub struct Chatter {
    burst: Duration,
    cycle: Duration,
    /// When this writer's first burst began.
    began: Instant,
    /// Edits between two chat messages, and how many remain before the next one.
    chat_every: u64,
    chat_countdown: u64,
    chat_seq: u64,
    /// When the next `since` goes out, if edits are waiting for one.
    since_due: Option<Instant>,
    /// The `since` on its way: when it was sent.
    since_sent: Option<Instant>,
    highest_id: i64,
    /// Sends waiting for their `ack`: client id → when sent.
    unacked: HashMap<String, Instant>,
    pub stats: MixStats,
}

/// What a writer's chat side sent and measured. Latencies only of what was sent inside the
/// measured window.
#[derive(Debug, Default)]
pub struct MixStats {
    pub chat_sent: u64,
    pub since_sent: u64,
    pub ack_us: Vec<u32>,
    pub history_us: Vec<u32>,
}

impl Chatter {
    /// A writer whose first burst begins at `began`, typing at `burst_rate` edits a second
    /// inside bursts; `first_chat` (0 to 1) places its first message within its first
    /// `--chat-every-secs` of typing, so that writers do not chat in step.
    pub fn new(args: &MixArgs, began: Instant, burst_rate: f64, first_chat: f64) -> Self {
        let chat_every = (args.chat_every_secs * burst_rate).round().max(1.0) as u64;
        let burst = Duration::from_secs_f64(args.burst_secs);
        Chatter {
            burst,
            cycle: burst + Duration::from_secs_f64(args.pause_secs),
            began,
            chat_every,
            chat_countdown: 1 + (first_chat.clamp(0.0, 1.0) * (chat_every - 1) as f64) as u64,
            chat_seq: 0,
            since_due: None,
            since_sent: None,
            highest_id: 0,
            unacked: HashMap::new(),
            stats: MixStats::default(),
        }
    }

    /// Whether `now` falls inside one of the writer's bursts (else it is pausing).
    pub fn typing(&self, now: Instant) -> bool {
        let into = now.saturating_duration_since(self.began).as_nanos() % self.cycle.as_nanos();
        into < self.burst.as_nanos()
    }

    /// After an edit: the `since` waits for 0.4 s of quiet, and every so many edits a chat
    /// message goes out. Returns the chat frame to send, if one is due.
    pub fn edited(&mut self, now: Instant, id: u64, schedule: &Schedule) -> Option<Vec<u8>> {
        self.since_due = Some(now + SINCE_DELAY);
        self.chat_countdown -= 1;
        if self.chat_countdown > 0 {
            return None;
        }
        self.chat_countdown = self.chat_every;
        self.chat_seq += 1;
        let client_id = format!("load-{id}-{}", self.chat_seq);
        let frame = chat_send_frame(&client_id, &format!("message {} from {id}", self.chat_seq));
        if schedule.measured(now) {
            self.stats.chat_sent += 1;
            self.unacked.insert(client_id, now);
        }
        Some(frame)
    }

    /// The `since` frame to send now, if one is due and none is on its way.
    pub fn since_due(&mut self, now: Instant, schedule: &Schedule) -> Option<Vec<u8>> {
        if self.since_sent.is_some() || self.since_due.is_none_or(|due| now < due) {
            return None;
        }
        self.since_due = None;
        self.since_sent = Some(now);
        self.stats.since_sent += u64::from(schedule.measured(now));
        Some(chat_since_frame(self.highest_id))
    }

    /// Takes in a chat event addressed to this writer's socket.
    pub fn received(&mut self, event: &ChatEvent, now: Instant, schedule: &Schedule) {
        let latency = |sent: Instant| {
            let us = now.saturating_duration_since(sent).as_micros();
            u32::try_from(us).unwrap_or(u32::MAX)
        };
        match event {
            ChatEvent::Ack { message } => {
                self.highest_id = self.highest_id.max(message.id);
                if let Some(sent) = self.unacked.remove(&message.client_id) {
                    self.stats.ack_us.push(latency(sent));
                }
            }
            ChatEvent::Message { message } => self.highest_id = self.highest_id.max(message.id),
            ChatEvent::History { messages, .. } => {
                if let Some(last) = messages.last() {
                    self.highest_id = self.highest_id.max(last.id);
                }
                if let Some(sent) = self.since_sent.take() {
                    if schedule.measured(sent) {
                        self.stats.history_us.push(latency(sent));
                    }
                }
                // Edits made while it was on its way wait for the next pause, as on the page.
                if let Some(due) = &mut self.since_due {
                    *due = (*due).max(now + SINCE_DELAY);
                }
            }
            ChatEvent::Rejected { .. }
            | ChatEvent::Role { .. }
            | ChatEvent::UpdateAck { .. }
            | ChatEvent::Updated { .. } => {}
        }
    }
}

/// The mix's figures for the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MixReport {
    pub burst_secs: f64,
    pub pause_secs: f64,
    pub chat_every_secs: f64,
    /// Chat messages sent inside the window, and how many were acknowledged.
    pub chat_sent: u64,
    pub chat_acked: u64,
    /// `message` events (other people's messages) received by all clients.
    pub chat_delivered: u64,
    /// `since` requests sent inside the window, and how many were answered.
    pub since_sent: u64,
    pub since_answered: u64,
    /// From a `send` to its `ack` (stored and acknowledged).
    pub ack_ms: Percentiles,
    /// From a `since` to its `history` (everything sent before it is stored).
    pub history_ms: Percentiles,
}

impl MixReport {
    pub fn new<'a>(
        args: &MixArgs,
        stats: impl Iterator<Item = &'a MixStats>,
        chat_delivered: u64,
    ) -> Self {
        let (mut ack_us, mut history_us) = (Vec::new(), Vec::new());
        let (mut chat_sent, mut since_sent) = (0, 0);
        for s in stats {
            chat_sent += s.chat_sent;
            since_sent += s.since_sent;
            ack_us.extend_from_slice(&s.ack_us);
            history_us.extend_from_slice(&s.history_us);
        }
        MixReport {
            burst_secs: args.burst_secs,
            pause_secs: args.pause_secs,
            chat_every_secs: args.chat_every_secs,
            chat_sent,
            chat_acked: ack_us.len() as u64,
            chat_delivered,
            since_sent,
            since_answered: history_us.len() as u64,
            ack_ms: Percentiles::of(&mut ack_us),
            history_ms: Percentiles::of(&mut history_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatspace_crdt::codec::{decode_client_frame, ChatMessage, ChatRequest, ClientMessage};
    use chatspace_crdt::Limits;

    fn args() -> MixArgs {
        MixArgs {
            mix: true,
            burst_secs: 3.0,
            pause_secs: 0.6,
            chat_every_secs: 1.0,
        }
    }

    fn always(t0: Instant) -> Schedule {
        Schedule {
            start: t0,
            measure_from: t0,
            measure_until: t0 + Duration::from_secs(3600),
        }
    }

    fn message(id: i64, client_id: &str) -> ChatMessage {
        ChatMessage {
            id,
            client_id: client_id.into(),
            author: "a".into(),
            text: "t".into(),
            sent_at: "2026-01-01T00:00:00.000Z".into(),
            anchor: None,
            edited_at: None,
            deleted: false,
            change: id,
            mentions: Vec::new(),
        }
    }

    fn request(frame: &[u8]) -> ChatRequest {
        match decode_client_frame(frame, &Limits::default()) {
            Ok(ClientMessage::Chat(request)) => request,
            other => panic!("not a chat request: {other:?}"),
        }
    }

    #[test]
    fn bursts_alternate_with_pauses_and_keep_the_mean_rate() {
        let a = args();
        assert!((a.speed_up() - 1.2).abs() < 1e-9);
        let t0 = Instant::now();
        let chatter = Chatter::new(&a, t0, 12.0, 0.0);
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(chatter.typing(at(0)) && chatter.typing(at(2_999)));
        assert!(!chatter.typing(at(3_000)) && !chatter.typing(at(3_599)));
        assert!(chatter.typing(at(3_600)));
    }

    #[test]
    fn a_since_follows_the_last_edit_by_the_page_delay_one_at_a_time() {
        let t0 = Instant::now();
        let schedule = always(t0);
        let mut chatter = Chatter::new(&args(), t0, 12.0, 1.0);
        assert!(
            chatter.since_due(t0, &schedule).is_none(),
            "nothing to confirm yet"
        );
        chatter.edited(t0, 1, &schedule);
        assert!(chatter.since_due(t0 + SINCE_DELAY / 2, &schedule).is_none());
        let since = chatter.since_due(t0 + SINCE_DELAY, &schedule).unwrap();
        assert_eq!(
            request(&since),
            ChatRequest::Since {
                after: 0,
                changes_after: None
            }
        );
        // An edit while it is on its way waits for the answer.
        let later = t0 + SINCE_DELAY * 3;
        chatter.edited(t0 + SINCE_DELAY * 2, 1, &schedule);
        assert!(chatter.since_due(later, &schedule).is_none());
        let history = ChatEvent::History {
            messages: vec![message(7, "x")],
            more: false,
        };
        chatter.received(&history, later, &schedule);
        assert_eq!(
            chatter.stats.history_us,
            vec![(SINCE_DELAY * 2).as_micros() as u32]
        );
        assert!(
            chatter.since_due(later, &schedule).is_none(),
            "a pause first"
        );
        let next = chatter.since_due(later + SINCE_DELAY, &schedule).unwrap();
        assert_eq!(
            request(&next),
            ChatRequest::Since {
                after: 7,
                changes_after: None
            }
        );
        assert_eq!(chatter.stats.since_sent, 2);
    }

    #[test]
    fn a_chat_message_goes_out_every_so_many_edits_and_its_ack_is_timed() {
        let t0 = Instant::now();
        let schedule = always(t0);
        // One second of typing at 4 Hz: a message every 4 edits, the first after the 4th.
        let mut chatter = Chatter::new(&args(), t0, 4.0, 1.0);
        let sent: Vec<bool> = (0..8)
            .map(|_| chatter.edited(t0, 9, &schedule).is_some())
            .collect();
        assert_eq!(sent, [false, false, false, true, false, false, false, true]);
        let ack = ChatEvent::Ack {
            message: message(3, "load-9-1"),
        };
        chatter.received(&ack, t0 + Duration::from_millis(5), &schedule);
        assert_eq!(chatter.stats.ack_us, vec![5_000]);
        assert_eq!(chatter.stats.chat_sent, 2);
        // The frame is a chat `send` the server's decoder accepts.
        let frame = Chatter::new(&args(), t0, 1.0, 0.0)
            .edited(t0, 5, &schedule)
            .unwrap();
        assert!(
            matches!(request(&frame), ChatRequest::Send { client_id, .. } if client_id == "load-5-1")
        );
    }

    #[test]
    fn the_options_are_checked() {
        assert_eq!(args().problem(), None);
        let short_pause = MixArgs {
            pause_secs: 0.3,
            ..args()
        };
        assert!(short_pause.problem().is_some());
        let off = MixArgs {
            mix: false,
            ..short_pause
        };
        assert_eq!(off.problem(), None);
    }
}

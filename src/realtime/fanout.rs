//! How a room's frames reach its connections. Frames for one connection (a greeting, a reply,
//! a role) go out at once; so do chat messages for everyone. Document updates and awareness
//! messages are relayed through the room's pacer ([`pacer`]): in a quiet room at once, as they
//! come; in a busy one, what comes within a tick of the last relay waits until that tick ends
//! and then goes out merged, one update frame and one awareness frame per connection ([`batch`]).
//! Under load that turns a connection's frames per tick from one per edit into one or two, and
//! the connection's writer sends whatever is queued with a single flush.
//!
//! Order: nothing overtakes a held relay. Any other frame sends what is held first (a chat
//! message never arrives before the edits that came before it, a reply to a sync step 1 follows
//! the updates it includes), and an awareness message sent at once sends held updates first.

mod batch;
mod pacer;

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use self::batch::{Fanned, Held, Relay};
use self::pacer::{Pacer, RelayKind};
use super::handle::Outbound;
use super::room::LiveRoom;
use crate::metrics::{FANOUT_BATCHES, FANOUT_BATCH_RELAYS};

pub(crate) use self::pacer::Pacing;

/// A room's relays: when they go out, and what is held until then.
pub(super) struct Fanout {
    pacer: Pacer,
    held: Held,
}

impl Fanout {
    pub(super) fn new(pacing: Pacing) -> Self {
        Self {
            pacer: Pacer::new(pacing),
            held: Held::default(),
        }
    }

    /// When what is held goes out.
    pub(super) fn due(&self) -> Option<Instant> {
        self.pacer.due()
    }
}

impl LiveRoom {
    /// Relays an applied update (its v1 bytes `raw`, its frame `frame`) to every connection but
    /// `from`.
    pub(super) fn relay_update(&mut self, from: Option<u64>, raw: Bytes, frame: Bytes) {
        let relay = Relay {
            from,
            payload: raw,
            frame,
        };
        self.relay(RelayKind::Update, relay);
    }

    /// Relays an awareness frame to every connection but `from`.
    pub(super) fn relay_awareness(&mut self, from: Option<u64>, frame: Bytes) {
        let relay = Relay {
            from,
            payload: frame.clone(),
            frame,
        };
        self.relay(RelayKind::Awareness, relay);
    }

    fn relay(&mut self, kind: RelayKind, relay: Relay) {
        let audience = self
            .subscribers
            .len()
            .saturating_sub(usize::from(relay.from.is_some()));
        if self.fanout.pacer.offer(kind, Instant::now(), audience) {
            if kind == RelayKind::Awareness && self.fanout.pacer.waiting(RelayKind::Update) {
                self.flush_relays();
            }
            self.queue_all(relay.from, relay.frame);
            return;
        }
        self.fanout.held.push(kind, relay);
        if self.fanout.held.is_full() {
            self.flush_relays();
        }
    }

    /// Sends what is held, merged, to every connection.
    pub(super) fn flush_relays(&mut self) {
        // (A due time without anything held would be cleared below, never spun on.)
        if self.fanout.held.is_empty() && self.fanout.due().is_none() {
            return;
        }
        let now = Instant::now();
        let (updates, awareness) = self.fanout.held.take();
        for (kind, relays) in [
            (RelayKind::Update, &updates),
            (RelayKind::Awareness, &awareness),
        ] {
            self.fanout.pacer.sent(kind, now);
            if !relays.is_empty() {
                let label = match kind {
                    RelayKind::Update => "update",
                    RelayKind::Awareness => "awareness",
                };
                metrics::counter!(FANOUT_BATCHES, "kind" => label).increment(1);
                metrics::histogram!(FANOUT_BATCH_RELAYS, "kind" => label)
                    .record(relays.len() as f64);
            }
        }
        let fanned = Fanned::new(&updates, &awareness, |conn| {
            self.subscribers.contains_key(&conn)
        });
        self.queue_each(|conn| fanned.frames_for(conn));
    }

    /// Sends to one connection, after what is held. A connection whose queue is full is dropped:
    /// its socket closes with 1013, the client reconnects and catches up through sync step 1/2,
    /// so nothing is lost and the room never waits for it.
    pub(super) fn send_to(&mut self, conn: u64, frame: Bytes) {
        self.flush_relays();
        let failed = self
            .subscribers
            .get(&conn)
            .and_then(|sub| sub.out.try_send(Outbound::Frame(frame)).err());
        if let Some(failed) = failed {
            self.lost(conn, &failed);
        }
    }

    /// Sends `frame` to every connection but `except`, after what is held.
    pub(super) fn broadcast(&mut self, except: Option<u64>, frame: Bytes) {
        self.flush_relays();
        self.queue_all(except, frame);
    }

    /// Queues `frame` for every connection but `except`.
    fn queue_all(&mut self, except: Option<u64>, frame: Bytes) {
        let one = [frame];
        self.queue_each(|conn| match Some(conn) == except {
            true => &one[..0],
            false => &one[..],
        });
    }

    /// Queues for every connection the frames `frames_for` gives it, then drops those that fell
    /// behind or closed.
    fn queue_each<'f>(&mut self, frames_for: impl Fn(u64) -> &'f [Bytes]) {
        let lost: Vec<(u64, TrySendError<Outbound>)> = self
            .subscribers
            .iter()
            .filter_map(|(&conn, sub)| {
                frames_for(conn).iter().find_map(|frame| {
                    let failed = sub.out.try_send(Outbound::Frame(frame.clone())).err()?;
                    Some((conn, failed))
                })
            })
            .collect();
        for (conn, failed) in lost {
            self.lost(conn, &failed);
        }
    }

    /// Forgets a connection a frame could not be queued for: a full queue means it fell behind
    /// (dropping the queue closes it with 1013); a closed one means its socket already ended and
    /// its `Leave` is on the way.
    fn lost(&mut self, conn: u64, failed: &TrySendError<Outbound>) {
        match failed {
            TrySendError::Full(_) => tracing::warn!(conn, "connection fell behind; closing it"),
            TrySendError::Closed(_) => tracing::debug!(conn, "connection already closed"),
        }
        self.drop_connection(conn);
    }
}

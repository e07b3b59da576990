//! A room's side of the bus (see `crate::bus`): what its own clients do is published for the
//! other nodes that have the room live, and what those publish is applied and relayed here.
//!
//! A document update is published by the room's writer once it is stored, with the sequence
//! number the database gave it: an update is never on another node before it is durable, so a
//! node that dies before its next write cannot leave an edit that only the others' memory
//! holds (its clients still have it, and send it to the node they reconnect to). The cost is
//! the commit: the room hands its updates to the writer as soon as they apply (the writer
//! groups what queues up while a commit runs), not at the flush tick.
//!
//! Other nodes' updates are applied as they arrive and relayed to this node's clients; their
//! numbers say which log entries the document holds ([`Coverage`]). The room catches up from
//! the database, merging what is stored into its document and relaying what its clients
//! lacked, when a hole in those numbers has not filled after [`HOLE_GRACE`], when an update does
//! not follow on from the document, when its reader lost Redis, when a publisher says some of
//! its notices were lost, and when the database's count of entries stays ahead of the room
//! between two checks.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use chatspace_crdt::{decode_client_frame, ClientID, ClientMessage, IncomingUpdate, Limits};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::coverage::Coverage;
use super::loading::load_room;
use super::offload::RoomFailure;
use super::room::LiveRoom;
use crate::bus::{Bus, Notice, Remote, Subscribed, GAP_FETCHES};

/// The connection tag of updates that came from other nodes (connection ids start at 1).
pub(super) const REMOTE: u64 = 0;
/// How long a hole in the stored entries may stay open before the room catches up: nodes
/// publish their entries right after storing them, but not always in the order of the numbers.
const HOLE_GRACE: Duration = Duration::from_secs(2);
/// How long a room waits before it tries again to catch up when the database did not answer.
const CATCH_UP_RETRY: Duration = Duration::from_secs(5);
/// How often the room compares what it holds with the database's count of the room's entries.
const CHECK_EVERY: Duration = Duration::from_secs(10);

pub(super) struct RoomBus {
    subscribed: Subscribed,
    coverage: Coverage,
    /// When a hole in the covered entries opened.
    hole_since: Option<Instant>,
    /// Catch up from the database at this moment.
    catch_up_at: Option<Instant>,
    next_check: Instant,
    /// The database's count at the last check, when it was ahead of the room.
    ahead: Option<i64>,
    /// Answers of the database checks, which run beside the room.
    checks: (mpsc::Sender<i64>, mpsc::Receiver<i64>),
    /// The awareness client ids each other node's clients have present here, so that they can
    /// be removed when that node is gone.
    presence_of: HashMap<String, HashSet<ClientID>>,
}

/// What woke the room on the bus's account.
pub(super) enum BusEvent {
    Remote(Remote),
    /// The database's last entry number for the room.
    Checked(i64),
    /// A deadline passed.
    Tick,
}

impl RoomBus {
    /// Subscribes to the room's stream. Call before loading the room (see `Bus::subscribe`).
    pub(super) async fn subscribe(bus: &Bus, room_id: i64) -> Self {
        Self {
            subscribed: bus.subscribe(room_id).await,
            coverage: Coverage::default(),
            hole_since: None,
            catch_up_at: None,
            next_check: Instant::now() + CHECK_EVERY,
            ahead: None,
            checks: mpsc::channel(1),
            presence_of: HashMap::new(),
        }
    }

    /// The room loaded everything stored up to `last_seq`.
    pub(super) fn loaded(&mut self, last_seq: i64) {
        self.coverage = Coverage::new(last_seq);
    }

    pub(super) fn bus(&self) -> &Bus {
        self.subscribed.bus()
    }

    /// The next thing for the room to handle.
    pub(super) async fn next(&mut self) -> BusEvent {
        let deadline = [self.hole_since.map(|t| t + HOLE_GRACE), self.catch_up_at]
            .into_iter()
            .flatten()
            .fold(self.next_check, Instant::min);
        tokio::select! {
            Some(remote) = self.subscribed.notices.recv() => BusEvent::Remote(remote),
            Some(count) = self.checks.1.recv() => BusEvent::Checked(count),
            () = tokio::time::sleep_until(deadline) => BusEvent::Tick,
        }
    }

    /// Asks to catch up from the database after `wait`.
    fn catch_up_after(&mut self, wait: Duration) {
        let at = Instant::now() + wait;
        self.catch_up_at = Some(self.catch_up_at.map_or(at, |t| t.min(at)));
    }

    /// Entries `first..=last` are in the document (stored here, or received from their node).
    fn covered(&mut self, first: i64, last: i64) {
        self.coverage.add(first, last);
        self.hole_since = match (self.coverage.has_hole(), self.hole_since) {
            (false, _) => None,
            (true, since) => Some(since.unwrap_or_else(Instant::now)),
        };
    }
}

/// Awaits the next bus event of a room that has a bus; never completes for one that has not.
pub(super) async fn next_event(remote: &mut Option<RoomBus>) -> BusEvent {
    match remote {
        Some(remote) => remote.next().await,
        None => std::future::pending().await,
    }
}

impl LiveRoom {
    /// Publishes `notice` for the other nodes, when there are any.
    pub(super) fn publish(&self, notice: Notice) {
        if let Some(remote) = &self.remote {
            remote.bus().publish(self.room_id, notice);
        }
    }

    /// This node's writer stored entries `first..=last` (and published them).
    pub(super) fn stored(&mut self, first: i64, last: i64) {
        if let Some(remote) = &mut self.remote {
            remote.covered(first, last);
        }
    }

    /// A remote update did not follow on from the document (one before it is still on its way
    /// or was lost), or the document was reloaded while other nodes' updates were arriving:
    /// catch up shortly.
    pub(super) fn catch_up_soon(&mut self) {
        if let Some(remote) = &mut self.remote {
            remote.catch_up_after(HOLE_GRACE);
        }
    }

    pub(super) async fn handle_bus_event(&mut self, event: BusEvent) -> Result<(), RoomFailure> {
        match event {
            BusEvent::Remote(Remote::Notice { from, notice }) => {
                self.handle_notice(from, notice).await?
            }
            BusEvent::Remote(Remote::Reconnected) => {
                // Notices may have been missed: access changes too.
                self.rooms.recheck_room(self.room_id);
                self.catch_up_soon();
            }
            BusEvent::Remote(Remote::NodeGone(node)) => self.node_gone(&node),
            BusEvent::Checked(count) => self.checked(count),
            BusEvent::Tick => {}
        }
        self.catch_up_if_due().await
    }

    async fn handle_notice(&mut self, from: String, notice: Notice) -> Result<(), RoomFailure> {
        match notice {
            Notice::Update { seq, data } => {
                self.apply_remote(data).await?;
                if let Some(remote) = &mut self.remote {
                    remote.covered(seq, seq);
                }
            }
            Notice::Refetch => {
                self.rooms.recheck_room(self.room_id);
                if let Some(remote) = &mut self.remote {
                    remote.catch_up_after(Duration::ZERO);
                }
            }
            Notice::Awareness(frame) => self.apply_remote_awareness(from, &frame),
            Notice::Chat(frame) => self.broadcast(None, frame),
            Notice::Access => self.rooms.recheck_room(self.room_id),
            Notice::Deleted => {
                self.rooms.close_room_sockets(self.room_id);
                self.deleted = true;
            }
            // Control-stream notices; never on a room's stream.
            Notice::SessionEnded { .. } | Notice::UserEnded { .. } => {}
        }
        Ok(())
    }

    /// Applies an awareness frame another node relayed, remembering whose clients' states it
    /// holds, and relays what changed to this node's clients.
    fn apply_remote_awareness(&mut self, from: String, frame: &[u8]) {
        let Ok(ClientMessage::Awareness(update)) = decode_client_frame(frame, &Limits::default())
        else {
            tracing::warn!("ignoring an awareness notice that does not decode");
            return;
        };
        let (shown, gone): (Vec<_>, Vec<_>) =
            update.entries.iter().partition(|e| e.state.is_some());
        let shown: Vec<ClientID> = shown.iter().map(|e| e.client_id).collect();
        self.claim_presence(Some(&from), &shown);
        if let Some(remote) = &mut self.remote {
            let present = remote.presence_of.entry(from).or_default();
            present.extend(shown);
            for entry in gone {
                present.remove(&entry.client_id);
            }
        }
        match self.doc.apply_awareness(update) {
            Ok(change) => {
                if let Some(frame) = change.frame {
                    self.relay_awareness(None, Bytes::from(frame));
                }
            }
            Err(error) => tracing::warn!(%error, "ignoring an awareness notice"),
        }
    }

    /// The awareness states of `ids` now come from node `from` (`None`: this node's clients):
    /// another node that showed them before no longer speaks for them, so that its going does
    /// not remove a client that has moved (its browser reconnected through another node).
    pub(super) fn claim_presence(&mut self, from: Option<&str>, ids: &[ClientID]) {
        let Some(remote) = &mut self.remote else {
            return;
        };
        for (node, present) in &mut remote.presence_of {
            if Some(node.as_str()) != from {
                for id in ids {
                    present.remove(id);
                }
            }
        }
    }

    /// `node` is gone: its clients' presence goes too, for this node's clients.
    fn node_gone(&mut self, node: &str) {
        let Some(present) = self
            .remote
            .as_mut()
            .and_then(|r| r.presence_of.remove(node))
        else {
            return;
        };
        let ids: Vec<ClientID> = present.into_iter().collect();
        if let Some(frame) = self.doc.remove_awareness(&ids) {
            self.relay_awareness(None, Bytes::from(frame));
        }
    }

    /// Applies another node's update and relays it to this node's clients.
    async fn apply_remote(&mut self, update: Bytes) -> Result<(), RoomFailure> {
        match IncomingUpdate::check_v1(update) {
            Ok(update) => self.apply_batch(vec![(REMOTE, update)]).await,
            Err(error) => {
                // Another node accepted it from its client; this one would not. Take what is
                // stored instead.
                tracing::warn!(%error, "an update from another node does not pass the checks here");
                self.catch_up_soon();
                Ok(())
            }
        }
    }

    /// The database's count of entries: catch up when it was ahead at the last check too and
    /// the room has not reached that count since.
    fn checked(&mut self, count: i64) {
        let Some(remote) = &mut self.remote else {
            return;
        };
        if remote
            .ahead
            .is_some_and(|ahead| remote.coverage.have() < ahead)
        {
            tracing::info!(
                have = remote.coverage.have(),
                stored = count,
                "the room is behind the database"
            );
            remote.catch_up_after(Duration::ZERO);
        }
        remote.ahead = (count > remote.coverage.have()).then_some(count);
    }

    /// Catches up when a deadline has passed, and starts the periodic check when it is due.
    async fn catch_up_if_due(&mut self) -> Result<(), RoomFailure> {
        let Some(remote) = &mut self.remote else {
            return Ok(());
        };
        let now = Instant::now();
        if remote.next_check <= now {
            remote.next_check = now + CHECK_EVERY;
            let (store, room_id, answer) = (
                self.rooms.store().clone(),
                self.room_id,
                remote.checks.0.clone(),
            );
            tokio::spawn(async move {
                match store.log_end(room_id).await {
                    Ok(count) => {
                        let _ = answer.try_send(count);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "checking the room's log in the database failed")
                    }
                }
            });
        }
        let hole_open = remote
            .hole_since
            .is_some_and(|since| since + HOLE_GRACE <= now);
        let asked = remote.catch_up_at.is_some_and(|at| at <= now);
        if hole_open || asked {
            remote.catch_up_at = None;
            remote.hole_since = None;
            return self.catch_up().await;
        }
        Ok(())
    }

    /// Merges what the database holds into the document and relays to this node's clients what
    /// they lacked. Nothing of the document is dropped: other nodes' updates that are not
    /// stored yet stay.
    async fn catch_up(&mut self) -> Result<(), RoomFailure> {
        metrics::counter!(GAP_FETCHES).increment(1);
        let loaded = match load_room(self.rooms.store(), self.room_id).await {
            Ok(loaded) => loaded,
            Err(error) => {
                // The room's own document is fine: it goes on serving and tries again later
                // (the database may be down for a while).
                tracing::warn!(%error, retry_in = ?CATCH_UP_RETRY, "catching up from the database failed");
                if let Some(remote) = &mut self.remote {
                    remote.catch_up_after(CATCH_UP_RETRY);
                }
                return Ok(());
            }
        };
        let last_seq = loaded.covers;
        let stored = loaded.doc;
        let have = self.doc.state_vector();
        let missing = tokio::task::spawn_blocking(move || stored.encode_missing_v1(&have))
            .await
            .map_err(|join| RoomFailure::Panicked(join.to_string()))?;
        match missing
            .map_err(|e| e.to_string())
            .and_then(|update| IncomingUpdate::check_v1(update).map_err(|e| e.to_string()))
        {
            Ok(update) => self.apply_batch(vec![(REMOTE, update)]).await?,
            Err(error) => {
                tracing::error!(%error, "catching up from the database failed; trying again later");
                self.catch_up_soon();
                return Ok(());
            }
        }
        if let Some(remote) = &mut self.remote {
            remote.coverage.caught_up(last_seq);
            remote.hole_since = remote.coverage.has_hole().then(Instant::now);
        }
        tracing::info!(last_seq, "caught up from the database");
        Ok(())
    }
}

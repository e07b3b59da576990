//! One task per live room. It owns the room's document, the awareness states, the list of
//! connections and the room's persistence; connections talk to it through a `RoomHandle`. All
//! of a room's updates are applied in one order, here, and stored in batches from here.

use std::collections::HashMap;

use bytes::Bytes;
use chatspace_crdt::codec::{chat_frame, sync_step1_frame, AwarenessUpdate, ChatEvent};
use chatspace_crdt::presence::{
    ConnectionAwareness, MAX_CLIENT_IDS_PER_CONNECTION, MAX_CLIENT_IDS_READ_ONLY,
};
use chatspace_crdt::{ClientMessage, RoomDoc};
use tokio::sync::mpsc;
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};

use super::authorship::Owners;
use super::fanout::Fanout;
use super::handle::{CloseCode, Outbound};
use super::handle::{Command, RoomUnavailable};
use super::ingest::IngestBuffers;
use super::loading::{load_room, LoadedRoom};
use super::offload::RoomFailure;
use super::persist::{DocPersistence, Target, Written, SNAPSHOT_FORMAT};
use super::registry::Rooms;
use super::remote::{self, RoomBus};
use crate::auth::CurrentUser;
use crate::bus::Notice;
use crate::metrics::{timed_blocking, Refusal, SNAPSHOT_ENCODE_SECONDS};
use crate::rooms::access::Role;

pub(super) struct Subscriber {
    pub(super) user: CurrentUser,
    /// What the user may do; the connection drops what a viewer may not send, the room caps a
    /// viewer's awareness ids and asks a promoted viewer for what it holds.
    role: Role,
    pub(super) out: mpsc::Sender<Outbound>,
    /// The awareness client ids this connection speaks for; their states are removed for
    /// everyone when it closes (as y-websocket's server does).
    awareness: ConnectionAwareness,
    /// Whether entries beyond the per-connection id cap were already logged.
    awareness_capped: bool,
}

/// Loads a room and runs it until it is idle, the server stops, or it fails.
pub async fn run(room_id: i64, rooms: Rooms, mut rx: mpsc::Receiver<Command>) {
    let store = rooms.store().clone();
    // Subscribed before the database is read, so that nothing other nodes publish falls
    // between the two.
    let mut remote = match rooms.bus() {
        Some(bus) => Some(RoomBus::subscribe(bus, room_id).await),
        None => None,
    };
    let loaded = match load_room(&store, room_id).await {
        Ok(loaded) => loaded,
        Err(reason) => {
            // Nothing is written for a room we cannot read: its rows stay exactly as they are.
            tracing::error!(%reason, "room refused");
            rooms.remove(room_id);
            rx.close();
            while let Some(command) = rx.recv().await {
                if let Command::Join { reply, .. } = command {
                    let _ = reply.send(Err(RoomUnavailable));
                }
            }
            return;
        }
    };
    let LoadedRoom {
        doc,
        stored,
        compact_now,
        covers,
        owners,
    } = loaded;
    if let Some(remote) = &mut remote {
        remote.loaded(covers);
    }
    let target = Target {
        room_id,
        store,
        bus: rooms.bus().cloned(),
    };
    let persistence = DocPersistence::start(
        target,
        covers,
        stored.updates.len(),
        rooms.config().compact_after_updates,
        rooms.tasks(),
        rooms.shutdown().clone(),
    );
    tracing::info!(
        chars = doc.text().chars().count(),
        log_entries = stored.updates.len(),
        "room loaded"
    );
    drop(stored);
    let rooms_pacing = rooms.config().pacing();
    let mut room = LiveRoom {
        room_id,
        rooms,
        rx,
        subscribers: HashMap::new(),
        doc,
        persistence,
        buffers: IngestBuffers::default(),
        remote,
        deleted: false,
        owners,
        fanout: Fanout::new(rooms_pacing),
    };
    // The log did not replay as a whole: a snapshot of what loaded replaces it.
    let exit = match compact_now {
        true => room.compact(true).await.err().map(Exit::Failed),
        false => None,
    };
    let exit = match exit {
        Some(exit) => exit,
        None => room.serve().await,
    };
    if let Exit::Deleted = exit {
        // Nothing is saved for a room that is gone; the next join (if any got past admission)
        // finds no room and is closed by its re-check.
        room.rooms.remove(room_id);
        room.rx.close();
        room.close_all(CloseCode::UnknownRoom);
        tracing::info!("room deleted; its sockets are closed");
        return;
    }
    if let Exit::Failed(failure) = &exit {
        metrics::counter!(crate::metrics::ROOM_FAILURES, "kind" => failure.kind()).increment(1);
        tracing::error!(%failure, "the room stops; its sockets are closed and the next join reloads it");
        room.close_all(CloseCode::TryAgainLater);
    }
    // When the document is gone (its thread may still be running), what was applied before is
    // stored, and the empty stand-in is never snapshotted.
    let lost = matches!(&exit, Exit::Failed(failure) if failure.lost_document());
    if !lost {
        if let Err(failure) = room.compact(true).await {
            tracing::error!(%failure, "a snapshot of the room could not be made; its log is kept");
        }
    }
    room.persistence.settle().await;
    match exit {
        Exit::Idle => tracing::info!("room saved and unloaded"),
        Exit::Shutdown => tracing::info!("room saved for shutdown"),
        Exit::Failed(_) => room.rooms.remove(room_id),
        Exit::Deleted => {}
    }
}

/// The chat frame that tells a client its role.
fn role_frame(role: Role) -> Bytes {
    let role = role.as_str().to_owned();
    Bytes::from(chat_frame(&ChatEvent::Role { role }))
}

/// Awareness client ids a connection of `role` may announce over its life.
fn awareness_cap(role: Role) -> usize {
    match role.can_edit() {
        true => MAX_CLIENT_IDS_PER_CONNECTION,
        false => MAX_CLIENT_IDS_READ_ONLY,
    }
}

/// Why the loop ended.
enum Exit {
    Idle,
    Shutdown,
    /// The room cannot go on (see [`RoomFailure`]); every connection is closed with 1013 and
    /// reconnects to a freshly loaded room.
    Failed(RoomFailure),
    /// The room was deleted (here or on another node): nothing is saved.
    Deleted,
}

/// A loaded room: what the room task owns.
pub(super) struct LiveRoom {
    pub(super) room_id: i64,
    pub(super) rooms: Rooms,
    /// The commands of every connection, in one order.
    pub(super) rx: mpsc::Receiver<Command>,
    pub(super) subscribers: HashMap<u64, Subscriber>,
    pub(super) doc: RoomDoc,
    pub(super) persistence: DocPersistence,
    pub(super) buffers: IngestBuffers,
    /// The room's side of the bus, when this node has other nodes.
    pub(super) remote: Option<RoomBus>,
    /// Another node deleted the room: the task stops without saving.
    pub(super) deleted: bool,
    /// Who owns each Yjs client id written under in the room (see `authorship`).
    pub(super) owners: Owners,
    /// Relays held until the end of the tick (see `fanout`).
    pub(super) fanout: Fanout,
}

impl LiveRoom {
    async fn serve(&mut self) -> Exit {
        let config = self.rooms.config().clone();
        let shutdown = self.rooms.shutdown().clone();
        let mut flush = interval(config.flush_interval());
        flush.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut idle_since = Some(Instant::now());
        let mut held: Option<Command> = None;
        loop {
            let relays_due = self.fanout.due();
            if relays_due.is_some_and(|due| due <= Instant::now()) {
                self.flush_relays();
                continue;
            }
            let command = match held.take() {
                Some(command) => command,
                None => {
                    let idle_deadline = idle_since.map(|t| t + config.room_idle());
                    tokio::select! {
                        biased;
                        () = shutdown.cancelled() => {
                            return match self.apply_queued_updates().await {
                                Ok(()) => Exit::Shutdown,
                                Err(failure) => Exit::Failed(failure),
                            };
                        }
                        // Before the queue: a room flooded with commands still sends on time.
                        () = sleep_until(relays_due.unwrap_or_else(Instant::now)), if relays_due.is_some() => {
                            self.flush_relays();
                            continue;
                        }
                        command = self.rx.recv() => match command {
                            Some(command) => command,
                            None => return Exit::Shutdown,
                        },
                        Some(written) = self.persistence.events.recv() => {
                            self.deliver(written);
                            continue;
                        }
                        event = remote::next_event(&mut self.remote) => {
                            if let Err(failure) = self.handle_bus_event(event).await {
                                return Exit::Failed(failure);
                            }
                            if self.deleted {
                                return Exit::Deleted;
                            }
                            continue;
                        }
                        _ = flush.tick(), if self.persistence.has_pending() => {
                            self.persistence.hand_over();
                            if let Err(failure) = self.compact(false).await {
                                return Exit::Failed(failure);
                            }
                            continue;
                        }
                        () = sleep_until(idle_deadline.unwrap_or_else(Instant::now)), if idle_deadline.is_some() => {
                            if let Err(failure) = self.compact(true).await {
                                return Exit::Failed(failure);
                            }
                            self.persistence.settle().await;
                            if self.rooms.remove_if_idle(self.room_id, &self.rx) {
                                self.rx.close();
                                return Exit::Idle;
                            }
                            continue;
                        }
                    }
                }
            };
            if let Command::Delete = command {
                return Exit::Deleted;
            }
            held = match self.handle(command).await {
                Ok(next) => next,
                Err(failure) => return Exit::Failed(failure),
            };
            idle_since = if self.subscribers.is_empty() {
                idle_since.or(Some(Instant::now()))
            } else {
                None
            };
        }
    }

    /// Handles one command. An update may pull more updates from the queue to apply them
    /// together; the first other command it meets is returned, to be handled next.
    async fn handle(&mut self, command: Command) -> Result<Option<Command>, RoomFailure> {
        match command {
            Command::Join {
                conn,
                user,
                role,
                out,
                reply,
            } => {
                // The greeting is the socket's first frame: what is held goes to the others
                // before it joins.
                self.flush_relays();
                self.subscribers.insert(
                    conn,
                    Subscriber {
                        user,
                        role,
                        out,
                        awareness: ConnectionAwareness::with_cap(awareness_cap(role)),
                        awareness_capped: false,
                    },
                );
                let _ = reply.send(Ok(()));
                for frame in self.doc.greeting() {
                    self.send_to(conn, Bytes::from(frame));
                }
                self.send_to(conn, role_frame(role));
            }
            Command::Leave { conn } => self.drop_connection(conn),
            Command::Role { conn, role } => self.change_role(conn, role),
            // Handled by the loop.
            Command::Delete => {}
            Command::Flush { done } => {
                // What the flush tick would have done with these updates, compaction included.
                self.compact(false).await?;
                self.persistence.barrier(done);
            }
            Command::Message { conn, message } => return self.handle_message(conn, message).await,
        }
        Ok(None)
    }

    async fn handle_message(
        &mut self,
        conn: u64,
        message: ClientMessage,
    ) -> Result<Option<Command>, RoomFailure> {
        if !self.subscribers.contains_key(&conn) {
            return Ok(None); // A message that was queued before its connection was dropped.
        }
        match message {
            // Encoding a large document takes milliseconds: on the blocking pool too.
            ClientMessage::SyncStep1(sv) => {
                match self.with_doc(move |doc| doc.answer_step1(&sv)).await? {
                    Ok(frame) => self.send_to(conn, Bytes::from(frame)),
                    Err(error) => tracing::error!(%error, "encoding a sync step 2 failed"),
                }
            }
            ClientMessage::SyncStep2(update) | ClientMessage::Update(update) => {
                let (batch, held) = self.take_batch((conn, update));
                self.apply_batch(batch).await?;
                return Ok(held);
            }
            ClientMessage::Awareness(update) => self.apply_awareness(conn, update),
            ClientMessage::QueryAwareness => {
                let frame = self.doc.awareness_states_frame();
                self.send_to(conn, Bytes::from(frame));
            }
            ClientMessage::Auth => {}
            ClientMessage::ChatRefused { client_id, reason } => {
                let frame = chat_frame(&ChatEvent::Rejected {
                    client_id,
                    id: None,
                    reason,
                });
                self.send_to(conn, Bytes::from(frame));
            }
            ClientMessage::ChatChangeRefused { id, reason } => {
                let frame = chat_frame(&ChatEvent::Rejected {
                    client_id: String::new(),
                    id: Some(id),
                    reason,
                });
                self.send_to(conn, Bytes::from(frame));
            }
            // Stored (or, for a catch-up, read once everything sent before it is stored) by the
            // room's writer; the room delivers the replies when the writer reports them.
            ClientMessage::Chat(request) => {
                let Some(author) = self.subscribers.get(&conn).map(|s| s.user.clone()) else {
                    return Ok(None);
                };
                // An anchor must name this room's text as it is now (the client's edits before
                // the message are applied): checked here, where the document is.
                if let Some(refused) = super::chat::anchor_refused(&self.doc, &request) {
                    self.send_to(conn, refused);
                    return Ok(None);
                }
                self.persistence.chat(conn, author, request);
            }
        }
        Ok(None)
    }

    /// The connection's user has a new role: tell the client; a viewer's awareness is capped;
    /// one that may edit again gets a fresh sync step 1, so that what it holds (what it typed
    /// as a viewer was dropped) flows up in its answer.
    fn change_role(&mut self, conn: u64, role: Role) {
        let Some(sub) = self.subscribers.get_mut(&conn) else {
            return;
        };
        let promoted = role.can_edit() && !sub.role.can_edit();
        sub.role = role;
        sub.awareness.set_cap(awareness_cap(role));
        self.send_to(conn, role_frame(role));
        if promoted {
            let step1 = sync_step1_frame(&self.doc.state_vector());
            self.send_to(conn, Bytes::from(step1));
        }
    }

    /// Delivers what the writer reports.
    fn deliver(&mut self, written: Written) {
        match written {
            Written::Chat { conn, replies } => {
                if replies.failed {
                    self.close(conn, CloseCode::TryAgainLater);
                    return;
                }
                if let Some(frame) = replies.to_sender {
                    self.send_to(conn, frame);
                }
                if let Some(frame) = replies.to_others {
                    self.publish(Notice::Chat(frame.clone()));
                    self.broadcast(Some(conn), frame);
                }
            }
            Written::Appended { first, last, bytes } => {
                self.persistence.stored(bytes);
                self.stored(first, last);
            }
        }
    }

    /// Snapshots the document (encoded on the blocking pool) and hands the snapshot to the
    /// writer when the log is long enough, or with `force` whenever it is not empty. Only the
    /// encode holds the document: the writer checks the snapshot (a cold load of it) and
    /// compresses it while the room goes on.
    pub(super) async fn compact(&mut self, force: bool) -> Result<(), RoomFailure> {
        if !self.persistence.compaction_due(force) {
            return Ok(());
        }
        if self.remote.is_some() {
            // Other nodes append to the log too: the writer rebuilds the snapshot from what is
            // stored, which this document may not hold all of yet.
            self.persistence.snapshot(None);
            return Ok(());
        }
        match self
            .with_doc(|doc| {
                timed_blocking(SNAPSHOT_ENCODE_SECONDS, || {
                    doc.encode_unchecked_snapshot(SNAPSHOT_FORMAT)
                })
            })
            .await?
        {
            Ok(data) => self.persistence.snapshot(Some(data)),
            Err(error) => {
                // The log still holds everything; compaction waits for a healthy document.
                tracing::error!(%error, "encoding a snapshot failed; the log is kept");
                self.persistence.postpone_compaction();
            }
        }
        Ok(())
    }

    /// Closes one connection for a bad message; the room and everyone else carry on.
    pub(super) fn reject(&mut self, conn: u64, error: &dyn std::fmt::Display) {
        if let Some(sub) = self.subscribers.get(&conn) {
            tracing::warn!(conn, user = sub.user.username, %error, "closing a connection for a bad message");
            let _ = sub.out.try_send(Outbound::Close(CloseCode::Malformed));
        }
        self.drop_connection(conn);
    }

    /// Closes one connection with `code` and forgets it.
    pub(super) fn close(&mut self, conn: u64, code: CloseCode) {
        if let Some(sub) = self.subscribers.get(&conn) {
            let _ = sub.out.try_send(Outbound::Close(code));
        }
        self.drop_connection(conn);
    }

    /// Applies the entries of an awareness update that `conn` may make and relays what changed
    /// to the others; the rest is ignored (see `chatspace_crdt::presence`).
    fn apply_awareness(&mut self, conn: u64, update: AwarenessUpdate) {
        let Some(sub) = self.subscribers.get_mut(&conn) else {
            return;
        };
        match sub
            .awareness
            .apply(&mut self.doc, update, &sub.user.username)
        {
            Ok((change, ignored)) => {
                if ignored.over_cap > 0 && !sub.awareness_capped {
                    sub.awareness_capped = true;
                    tracing::warn!(
                        conn,
                        user = sub.user.username,
                        ignored = ignored.over_cap,
                        "awareness client ids beyond the per-connection cap ignored"
                    );
                }
                let ids = sub.awareness.live_ids().to_vec();
                self.claim_presence(None, &ids);
                if let Some(frame) = change.frame {
                    let frame = Bytes::from(frame);
                    self.publish(Notice::Awareness(frame.clone()));
                    self.relay_awareness(Some(conn), frame);
                }
            }
            Err(error) => {
                crate::metrics::refused(Refusal::of_awareness(&error));
                self.reject(conn, &error);
            }
        }
    }

    /// Forgets a connection (dropping its queue closes its socket) and tells everyone its
    /// awareness states are gone.
    pub(super) fn drop_connection(&mut self, conn: u64) {
        let Some(mut sub) = self.subscribers.remove(&conn) else {
            return;
        };
        if let Some(frame) = sub.awareness.leave(&mut self.doc) {
            let frame = Bytes::from(frame);
            self.publish(Notice::Awareness(frame.clone()));
            self.relay_awareness(None, frame);
        }
    }

    pub(super) fn close_all(&mut self, code: CloseCode) {
        for (_, sub) in self.subscribers.drain() {
            let _ = sub.out.try_send(Outbound::Close(code));
        }
    }
}

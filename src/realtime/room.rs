//! One task per live room. It owns the room's document, the awareness states, the list of
//! connections and the room's persistence; connections talk to it through a [`RoomHandle`]. All
//! of a room's updates are applied in one order, here, and stored in batches from here.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chatspace_crdt::codec::update_frame;
use chatspace_crdt::{
    decode_client_frame, BatchFailure, ClientID, ClientMessage, IncomingUpdate, Limits, RoomDoc,
    SnapshotFormat,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};

use super::chat;
use super::persist::DocPersistence;
use super::registry::Rooms;
use super::socket::{CloseCode, Outbound};
use crate::auth::CurrentUser;
use crate::store::StoredDocument;

/// Updates taken from the queue at once and applied together (the document applies them in
/// transactions of up to 64): small batches are cheaper per update than single ones, giant ones
/// are a cliff (shared/PERF-NOTES.md).
const APPLY_BATCH: usize = 256;

/// What a connection can ask of its room.
pub enum Command {
    /// Subscribe: the room sends the greeting (its sync step 1 and the awareness states) into
    /// `out`, then everything the connection should see.
    Join {
        conn: u64,
        user: CurrentUser,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<Result<(), RoomUnavailable>>,
    },
    /// A decoded message from a joined connection.
    Message { conn: u64, message: ClientMessage },
    /// The connection is gone.
    Leave { conn: u64 },
}

/// The room's stored data cannot be read; an operator has to look.
#[derive(Debug, Clone, Copy)]
pub struct RoomUnavailable;

/// How connections reach a room's task.
#[derive(Clone, Debug)]
pub struct RoomHandle {
    /// The room task's queue; bounded, so a flood from one socket makes that socket wait.
    tx: mpsc::Sender<Command>,
}

impl RoomHandle {
    pub fn new(tx: mpsc::Sender<Command>) -> Self {
        Self { tx }
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Queues a command; `false` when the room task has stopped.
    pub async fn send(&self, command: Command) -> bool {
        self.tx.send(command).await.is_ok()
    }
}

struct Subscriber {
    user: CurrentUser,
    out: mpsc::Sender<Outbound>,
    /// Awareness client ids announced on this connection, removed for everyone when it closes
    /// (as y-websocket's server does).
    awareness_ids: HashSet<ClientID>,
}

/// Loads a room and runs it until it is idle, the server stops, or it fails.
pub async fn run(room_id: i64, rooms: Rooms, mut rx: mpsc::Receiver<Command>) {
    let store = rooms.store().clone();
    let loaded = store
        .load_document(room_id)
        .await
        .map_err(|e| e.to_string())
        .and_then(|stored| {
            let doc = load_doc(&stored)
                .map_err(|e| format!("the stored document cannot be decoded: {e}"))?;
            Ok((stored, doc))
        });
    let (stored, doc) = match loaded {
        Ok(loaded) => loaded,
        Err(reason) => {
            // Nothing is written for a room we cannot read: its rows stay exactly as they are.
            tracing::error!(reason, "room refused");
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
    let persistence = DocPersistence::new(
        room_id,
        store,
        &stored,
        rooms.config().compact_after_updates,
    );
    tracing::info!(
        chars = doc.text().chars().count(),
        log_entries = stored.updates.len(),
        "room loaded"
    );
    drop(stored);
    let mut room = LiveRoom {
        room_id,
        rooms,
        rx,
        subscribers: HashMap::new(),
        doc,
        persistence,
    };
    let exit = room.serve().await;
    if let Err(error) = room.persistence.save(&room.doc, true).await {
        tracing::error!(%error, "saving the room failed; its unsaved updates are lost");
    }
    match exit {
        Exit::Idle => tracing::info!("room saved and unloaded"),
        Exit::Shutdown => tracing::info!("room saved for shutdown"),
        Exit::Failed => room.rooms.remove(room_id),
    }
}

fn load_doc(stored: &StoredDocument) -> Result<RoomDoc, String> {
    let snapshot = match &stored.snapshot {
        Some(s) => Some((
            s.data.as_slice(),
            SnapshotFormat::from_i64(s.format).map_err(|e| e.to_string())?,
        )),
        None => None,
    };
    RoomDoc::load(snapshot, &stored.updates).map_err(|e| e.to_string())
}

/// Why the loop ended.
enum Exit {
    Idle,
    Shutdown,
    /// The document could not be recovered after a failed update; every connection was closed
    /// with 1013 and reconnects to a freshly loaded room.
    Failed,
}

struct LiveRoom {
    room_id: i64,
    rooms: Rooms,
    rx: mpsc::Receiver<Command>,
    subscribers: HashMap<u64, Subscriber>,
    doc: RoomDoc,
    persistence: DocPersistence,
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
            let command = match held.take() {
                Some(command) => command,
                None => {
                    let idle_deadline = idle_since.map(|t| t + config.room_idle());
                    tokio::select! {
                        biased;
                        () = shutdown.cancelled() => {
                            self.apply_queued_updates().await;
                            return Exit::Shutdown;
                        }
                        command = self.rx.recv() => match command {
                            Some(command) => command,
                            None => return Exit::Shutdown,
                        },
                        _ = flush.tick(), if self.persistence.has_pending() => {
                            if let Err(error) = self.persistence.save(&self.doc, false).await {
                                tracing::error!(%error, "storing updates failed; retrying at the next tick");
                            }
                            continue;
                        }
                        () = sleep_until(idle_deadline.unwrap_or_else(Instant::now)), if idle_deadline.is_some() => {
                            if let Err(error) = self.persistence.save(&self.doc, true).await {
                                tracing::error!(%error, "saving an idle room failed; it stays loaded");
                                idle_since = Some(Instant::now());
                                continue;
                            }
                            if self.rooms.remove_if_idle(self.room_id, &self.rx) {
                                self.rx.close();
                                return Exit::Idle;
                            }
                            continue;
                        }
                    }
                }
            };
            held = match self.handle(command).await {
                Ok(next) => next,
                Err(()) => return Exit::Failed,
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
    async fn handle(&mut self, command: Command) -> Result<Option<Command>, ()> {
        match command {
            Command::Join {
                conn,
                user,
                out,
                reply,
            } => {
                self.subscribers.insert(
                    conn,
                    Subscriber {
                        user,
                        out,
                        awareness_ids: HashSet::new(),
                    },
                );
                let _ = reply.send(Ok(()));
                for frame in self.doc.greeting() {
                    self.send_to(conn, Bytes::from(frame));
                }
            }
            Command::Leave { conn } => self.drop_connection(conn),
            Command::Message { conn, message } => return self.handle_message(conn, message).await,
        }
        Ok(None)
    }

    async fn handle_message(
        &mut self,
        conn: u64,
        message: ClientMessage,
    ) -> Result<Option<Command>, ()> {
        if !self.subscribers.contains_key(&conn) {
            return Ok(None); // A message that was queued before its connection was dropped.
        }
        match message {
            ClientMessage::SyncStep1(sv) => match self.doc.answer_step1(&sv) {
                Ok(frame) => self.send_to(conn, Bytes::from(frame)),
                Err(error) => tracing::error!(%error, "encoding a sync step 2 failed"),
            },
            ClientMessage::SyncStep2(update) | ClientMessage::Update(update) => {
                let mut batch = vec![(conn, update)];
                let held = self.take_more_updates(&mut batch);
                self.apply_batch(batch).await?;
                return Ok(held);
            }
            ClientMessage::Awareness(update) => match self.doc.apply_awareness(update) {
                Ok(change) => {
                    if let Some(sub) = self.subscribers.get_mut(&conn) {
                        sub.awareness_ids
                            .extend(change.added.iter().chain(&change.updated));
                        for id in &change.removed {
                            sub.awareness_ids.remove(id);
                        }
                    }
                    if let Some(frame) = change.frame {
                        self.broadcast(Some(conn), Bytes::from(frame));
                    }
                }
                Err(error) => self.reject(conn, &error),
            },
            ClientMessage::QueryAwareness => {
                let frame = self.doc.awareness_states_frame();
                self.send_to(conn, Bytes::from(frame));
            }
            ClientMessage::Auth => {}
            ClientMessage::Chat(request) => {
                let Some(author) = self.subscribers.get(&conn).map(|s| s.user.clone()) else {
                    return Ok(None);
                };
                let replies =
                    chat::handle(self.rooms.store(), self.room_id, &author, request).await;
                if let Some(frame) = replies.to_sender {
                    self.send_to(conn, frame);
                }
                if let Some(frame) = replies.to_others {
                    self.broadcast(Some(conn), frame);
                }
            }
        }
        Ok(None)
    }

    /// At shutdown: updates that already reached the room's queue are applied, so the final
    /// save includes them. Everything else still queued is dropped with the connections.
    async fn apply_queued_updates(&mut self) {
        self.rx.close();
        let mut batch = Vec::new();
        while let Ok(command) = self.rx.try_recv() {
            if let Command::Message {
                conn,
                message: ClientMessage::Update(u) | ClientMessage::SyncStep2(u),
            } = command
            {
                batch.push((conn, u));
            }
        }
        if !batch.is_empty() {
            let _ = self.apply_batch(batch).await;
        }
    }

    /// Moves update messages waiting in the queue into `batch`, up to [`APPLY_BATCH`]. Returns the
    /// first other command taken, to be handled next.
    fn take_more_updates(&mut self, batch: &mut Vec<(u64, IncomingUpdate)>) -> Option<Command> {
        while batch.len() < APPLY_BATCH {
            match self.rx.try_recv() {
                Ok(Command::Message {
                    conn,
                    message: ClientMessage::Update(u) | ClientMessage::SyncStep2(u),
                }) => {
                    batch.push((conn, u));
                }
                Ok(other) => return Some(other),
                Err(_) => return None,
            }
        }
        None
    }

    /// Applies updates in order; each one that is now part of the document is queued for the log
    /// and relayed to everyone but its sender. An update the document refuses closes its sender's
    /// connection (4400), and the room recovers without disturbing anyone else.
    async fn apply_batch(&mut self, batch: Vec<(u64, IncomingUpdate)>) -> Result<(), ()> {
        let senders: Vec<u64> = batch.iter().map(|(conn, _)| *conn).collect();
        let mut pending: Vec<IncomingUpdate> = batch.into_iter().map(|(_, u)| u).collect();
        let mut positions: Vec<usize> = (0..pending.len()).collect();
        loop {
            let outcome = self.doc.apply_updates(pending);
            for applied in outcome.applied {
                let Some(&conn) = positions.get(applied.index).and_then(|&i| senders.get(i)) else {
                    continue;
                };
                let raw = Bytes::from(applied.raw);
                self.broadcast(Some(conn), Bytes::from(update_frame(&raw)));
                self.persistence.push(raw);
            }
            let Some(failure) = outcome.failure else {
                return Ok(());
            };
            (pending, positions) = self.recover(failure, &senders, &positions).await?;
        }
    }

    /// After an update failed, the document cannot be trusted: store what was applied, reload
    /// the document from the database (which then holds everything the clients were sent), and
    /// return the updates of the batch that still have to be applied, one per transaction.
    async fn recover(
        &mut self,
        failure: BatchFailure,
        senders: &[u64],
        positions: &[usize],
    ) -> Result<(Vec<IncomingUpdate>, Vec<usize>), ()> {
        let sender_of = |index: usize| positions.get(index).and_then(|&i| senders.get(i)).copied();
        if let Some(conn) = failure.culprit.and_then(sender_of) {
            self.reject(conn, &failure.error);
        }
        let reloaded = match self.persistence.flush().await {
            Ok(()) => match self.rooms.store().load_document(self.room_id).await {
                Ok(stored) => load_doc(&stored),
                Err(error) => Err(error.to_string()),
            },
            Err(error) => Err(error.to_string()),
        };
        let doc = match reloaded {
            Ok(doc) => doc,
            Err(reason) => {
                tracing::error!(
                    reason,
                    "the room could not recover from a failed update; closing it"
                );
                self.close_all(CloseCode::TryAgainLater);
                return Err(());
            }
        };
        // Awareness states are not stored: carry them over to the reloaded document.
        let old = std::mem::replace(&mut self.doc, doc);
        if let Ok(ClientMessage::Awareness(states)) =
            decode_client_frame(&old.awareness_states_frame(), &Limits::default())
        {
            let _ = self.doc.apply_awareness(states);
        }
        tracing::warn!(error = %failure.error, retry = failure.retry.len(), "room reloaded after a failed update");
        let mut retry = Vec::new();
        let mut retry_positions = Vec::new();
        for (index, raw) in failure.retry {
            match IncomingUpdate::decode_v1(raw) {
                Ok(update) => {
                    retry.push(update);
                    retry_positions.push(positions.get(index).copied().unwrap_or(usize::MAX));
                }
                Err(error) => {
                    if let Some(conn) = sender_of(index) {
                        self.reject(conn, &error);
                    }
                }
            }
        }
        Ok((retry, retry_positions))
    }

    /// Closes one connection for a bad message; the room and everyone else carry on.
    fn reject(&mut self, conn: u64, error: &dyn std::fmt::Display) {
        if let Some(sub) = self.subscribers.get(&conn) {
            tracing::warn!(conn, user = sub.user.username, %error, "closing a connection for a bad message");
            let _ = sub.out.try_send(Outbound::Close(CloseCode::Malformed));
        }
        self.drop_connection(conn);
    }

    /// Sends to one connection. A connection whose queue is full is dropped: its socket closes
    /// with 1013, the client reconnects and catches up through sync step 1/2, so nothing is lost
    /// and the room never waits for it.
    fn send_to(&mut self, conn: u64, frame: Bytes) {
        let full = self
            .subscribers
            .get(&conn)
            .is_some_and(|sub| sub.out.try_send(Outbound::Frame(frame)).is_err());
        if full {
            tracing::warn!(conn, "connection fell behind; closing it");
            self.drop_connection(conn);
        }
    }

    /// Sends `frame` to every connection but `except`, then drops those that fell behind.
    fn broadcast(&mut self, except: Option<u64>, frame: Bytes) {
        let lagging: Vec<u64> = self
            .subscribers
            .iter()
            .filter(|(&conn, sub)| {
                Some(conn) != except && sub.out.try_send(Outbound::Frame(frame.clone())).is_err()
            })
            .map(|(&conn, _)| conn)
            .collect();
        for conn in lagging {
            tracing::warn!(conn, "connection fell behind; closing it");
            self.drop_connection(conn);
        }
    }

    /// Forgets a connection (dropping its queue closes its socket) and tells everyone its
    /// awareness states are gone.
    fn drop_connection(&mut self, conn: u64) {
        let Some(sub) = self.subscribers.remove(&conn) else {
            return;
        };
        let ids: Vec<ClientID> = sub.awareness_ids.into_iter().collect();
        if let Some(frame) = self.doc.remove_awareness(&ids) {
            self.broadcast(None, Bytes::from(frame));
        }
    }

    fn close_all(&mut self, code: CloseCode) {
        for (_, sub) in self.subscribers.drain() {
            let _ = sub.out.try_send(Outbound::Close(code));
        }
    }
}

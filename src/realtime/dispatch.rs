//! The room task's loop: what it waits on (shutdown, relays due, commands, the writer's
//! reports, the bus, the flush tick, idleness) and how each command and client message is
//! dispatched.

use bytes::Bytes;
use chatspace_crdt::codec::{chat_frame, ChatEvent};
use chatspace_crdt::presence::ConnectionAwareness;
use chatspace_crdt::ClientMessage;
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};

use super::awareness::awareness_cap;
use super::handle::{CloseCode, Command};
use super::membership::{role_frame, Subscriber};
use super::offload::RoomFailure;
use super::persist::Written;
use super::remote;
use super::room::{Exit, LiveRoom};
use crate::bus::Notice;

impl LiveRoom {
    pub(super) async fn serve(&mut self) -> Exit {
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
}

//! One admitted room socket: it joins the room's task, then parses, checks and rate-limits what
//! the client sends (so the room task only decodes and applies updates) while its writer, a task
//! of its own, writes out what the room queues for it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use chatspace_crdt::{decode_client_bytes, Limits};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinError;
use tokio::time::Instant;
use tungstenite::error::ProtocolError;

use super::gate::Gate;
use super::handle::{CloseCode, Command, Outbound, RoomHandle};
use super::ratelimit::{RateLimiter, RateLimits};
use super::registry::Rooms;
use super::socket::Admitted;
use super::sockets::{Inbox, OpenSocket};
use crate::auth::CurrentUser;
use crate::metrics::Refusal;
use crate::rooms::access::Role;

mod writer;

/// How long after its session's stored expiry a socket checks it: the store must see it as past.
const EXPIRY_MARGIN: Duration = Duration::from_millis(50);

/// Attempts to join a room whose task was stopping at the moment we asked.
const JOIN_ATTEMPTS: usize = 3;

/// What ended the reader or the writer, and so how the socket is closed.
#[derive(Debug)]
enum Ending {
    /// The server closes: its close frame, then the close handshake.
    Close(CloseCode),
    /// A frame broke the WebSocket protocol; nothing more can be read, only the close frame
    /// sent.
    Broken(CloseCode),
    /// The client sent its close frame: answer it.
    ClientClosed,
    /// The connection is gone (or a write failed): nothing to send.
    Gone,
}

/// Serves an admitted socket until it closes. The socket comes boxed (see `room_socket`): its
/// halves share it, and it then takes no room in the futures it passes through.
pub async fn serve(rooms: Rooms, admitted: Admitted, mut socket: Box<WebSocket>) {
    // Counted as open until this returns, whichever way.
    let _open = rooms.gauges().connection();
    let conn = rooms.connection_id();
    let Admitted {
        room_id,
        name,
        user,
        role,
        session,
        epoch,
    } = admitted;
    // Registered before joining, so that a change of access or an ended session reaches it
    // from now on; what happened since admission is checked once more just below.
    let inbox = Arc::new(Inbox::default());
    let registration = OpenSocket {
        room_id,
        user_id: user.id,
        session,
        control: Arc::clone(&inbox),
    };
    let _registered = rooms.open_sockets().register(conn, registration);
    if rooms.access_epoch() != epoch {
        rooms.recheck_room(room_id);
    }
    // Learns when the session expires (and closes if it already ended).
    rooms.recheck_sessions_of(user.id);
    let (out_tx, out_rx) = mpsc::channel::<Outbound>(rooms.config().send_queue.max(1));
    // Weak: the room dropping its sender must still end the queue (see the writer).
    let replies = out_tx.downgrade();
    let handle = match join(&rooms, room_id, &name, conn, &user, role, out_tx).await {
        Ok(handle) => handle,
        Err(code) => {
            code.close(&mut socket).await;
            return;
        }
    };
    tracing::debug!(conn, user = user.username, %role, "joined");

    let limits = Limits {
        max_frame_bytes: rooms.config().max_frame_bytes,
        max_update_clients: rooms.config().max_update_clients,
        ..Limits::default()
    };
    let mut rate = RateLimiter::new(RateLimits::from_messages_per_sec(
        rooms.config().rate_limit_messages,
    ));
    let mut gate = Gate::new(role, replies);
    let shutdown = rooms.shutdown().clone();
    // Relayed frames wake only the writer; the reader wakes for what the client sends, control,
    // shutdown and expiry. Dropping `stop` stops the writer.
    let (sink, mut stream) = socket.split();
    let (stop, stopped) = oneshot::channel();
    let mut writer = tokio::spawn(writer::write(sink, out_rx, shutdown.clone(), stopped));
    // One wait for shutdown for the whole loop: a new one per turn would register and
    // unregister with the token on every message. The same for the session's expiry.
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    let expiry = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(expiry);
    let mut expiry_armed = false;
    let ended = loop {
        tokio::select! {
            biased;
            () = &mut cancelled => break Ended::Reader(Ending::Close(CloseCode::GoingAway)),
            told = inbox.next() => {
                if let Some(code) = told.close {
                    break Ended::Reader(Ending::Close(code));
                }
                if let Some(role) = told.role.filter(|&role| gate.set_role(role)) {
                    tracing::debug!(conn, %role, "role changed");
                    if !handle.send(Command::Role { conn, role }).await {
                        break Ended::Reader(Ending::Close(CloseCode::TryAgainLater));
                    }
                }
                if let Some(until) = told.session_until {
                    expiry.as_mut().reset(instant_at(until));
                    expiry_armed = true;
                }
            }
            () = &mut expiry, if expiry_armed => {
                // The stored session may have been extended meanwhile: ask the store.
                expiry_armed = false;
                rooms.recheck_sessions_of(user.id);
            }
            written = &mut writer => break Ended::Writer(written),
            incoming = stream.next() => {
                let Some(incoming) = incoming else { break Ended::Reader(Ending::Gone) };
                let reader = Reader { handle: &handle, conn, limits: &limits };
                if let Err(ending) = reader.read(incoming, &mut rate, &mut gate).await {
                    break Ended::Reader(ending);
                }
            }
        }
    };
    drop(stop);
    handle.send(Command::Leave { conn }).await;
    let (ending, written) = match ended {
        Ended::Reader(ending) => (Some(ending), writer.await),
        Ended::Writer(written) => (None, written),
    };
    let ending = match written {
        Ok((sink, written)) => {
            // The side that ended first decides, as a writer that fails once the reader has
            // read the client's close frame (tungstenite refuses writes from then on) must not
            // keep that close from being answered. The writer stops without an ending only
            // when the reader ended first.
            let ending = ending.or(written).unwrap_or(Ending::Gone);
            // The halves are always a pair; the close helpers need the whole socket.
            if let Ok(mut socket) = sink.reunite(stream) {
                ending.close(&mut socket).await;
            }
            ending
        }
        Err(error) => {
            tracing::error!(conn, %error, "the socket's writer failed");
            Ending::Gone
        }
    };
    tracing::debug!(conn, ?ending, "socket closed");
}

impl Ending {
    /// Closes the socket as this ending requires.
    async fn close(&self, socket: &mut WebSocket) {
        match *self {
            Ending::Close(code) => code.close(socket).await,
            Ending::Broken(code) => code.close_broken(socket).await,
            Ending::ClientClosed => CloseCode::answer_close(socket).await,
            Ending::Gone => {}
        }
    }
}

/// Which side of the socket ended first.
enum Ended {
    Reader(Ending),
    /// The writer's task ended (or panicked): the sink, and why it stopped.
    Writer(Result<(writer::Sink, Option<Ending>), JoinError>),
}

/// The moment `until` (a wall-clock time) on the runtime's clock, a little after it so that
/// the store sees the session as expired by then.
fn instant_at(until: time::OffsetDateTime) -> Instant {
    let left = until - time::OffsetDateTime::now_utc();
    let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
    Instant::now() + left + EXPIRY_MARGIN
}

/// Subscribes to the room's task, asking for a fresh task if the one found was stopping.
async fn join(
    rooms: &Rooms,
    room_id: i64,
    name: &str,
    conn: u64,
    user: &CurrentUser,
    role: Role,
    out: mpsc::Sender<Outbound>,
) -> Result<RoomHandle, CloseCode> {
    for _ in 0..JOIN_ATTEMPTS {
        let handle = rooms.handle(room_id, name);
        let (reply, answer) = oneshot::channel();
        let join = Command::Join {
            conn,
            user: user.clone(),
            role,
            out: out.clone(),
            reply,
        };
        if handle.send(join).await {
            match answer.await {
                Ok(Ok(())) => return Ok(handle),
                Ok(Err(_)) => return Err(CloseCode::RoomUnavailable),
                Err(_) => {} // The task stopped between lookup and join.
            }
        }
    }
    Err(CloseCode::TryAgainLater)
}

/// What reading a connection's messages needs.
struct Reader<'a> {
    handle: &'a RoomHandle,
    conn: u64,
    limits: &'a Limits,
}

impl Reader<'_> {
    /// Handles one message from the client: every message, pings and pongs included, is
    /// rate-limited; a binary frame is parsed (an update's structure checked) and, unless the
    /// connection's role forbids it ([`Gate`]), passed to the room.
    async fn read(
        &self,
        incoming: Result<Message, axum::Error>,
        rate: &mut RateLimiter,
        gate: &mut Gate,
    ) -> Result<(), Ending> {
        let conn = self.conn;
        if let Ok(Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes)) = &incoming
        {
            crate::metrics::bytes_received(bytes.len());
            if !rate.allow(bytes.len()) {
                crate::metrics::refused(Refusal::RateLimited);
                return Err(Ending::Close(CloseCode::RateLimited));
            }
        }
        match incoming {
            Ok(Message::Binary(bytes)) => {
                let message = decode_client_bytes(bytes, self.limits).map_err(|error| {
                    tracing::warn!(conn, %error, "malformed frame; closing the socket");
                    crate::metrics::refused(Refusal::of_frame(&error));
                    Ending::Close(CloseCode::Malformed)
                })?;
                crate::metrics::received(&message);
                let Some(message) = gate.pass(message) else {
                    return Ok(());
                };
                if self.handle.send(Command::Message { conn, message }).await {
                    Ok(())
                } else {
                    Err(Ending::Close(CloseCode::TryAgainLater))
                }
            }
            Ok(Message::Text(_)) => {
                crate::metrics::refused(Refusal::TextFrame);
                Err(Ending::Close(CloseCode::UnsupportedData))
            }
            // tungstenite queued the answer to a ping: the reader's next read, which starts at
            // once, writes it out before reading (or the writer's next flush does).
            Ok(Message::Ping(_) | Message::Pong(_)) => Ok(()),
            Ok(Message::Close(_)) => Err(Ending::ClientClosed),
            Err(error) => Err(read_failure(conn, &error)),
        }
    }
}

/// How a failed read ends the socket: a frame over the size limit (1009), a frame that breaks
/// the WebSocket protocol (1002) or a text frame or close reason that is not UTF-8 (1007) is
/// answered with that code; anything else means the connection is gone.
fn read_failure(conn: u64, error: &axum::Error) -> Ending {
    let source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let (code, refusal) = match source.and_then(|s| s.downcast_ref::<tungstenite::Error>()) {
        Some(tungstenite::Error::Capacity(_)) => (CloseCode::TooBig, Refusal::TooLarge),
        Some(tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
            tracing::debug!(conn, %error, "the connection ended without a close frame");
            return Ending::Gone;
        }
        Some(tungstenite::Error::Protocol(_)) => (CloseCode::ProtocolError, Refusal::ProtocolError),
        Some(tungstenite::Error::Utf8(_)) => (CloseCode::InvalidPayload, Refusal::ProtocolError),
        _ => {
            tracing::debug!(conn, %error, "socket read failed");
            return Ending::Gone;
        }
    };
    crate::metrics::refused(refusal);
    tracing::warn!(conn, %error, code = code as u16, "frame breaks the WebSocket protocol; closing the socket");
    Ending::Broken(code)
}

//! One admitted room socket: it joins the room's task, then parses, checks and rate-limits what
//! the client sends (so the room task only decodes and applies updates) while writing out what
//! the room queues for it.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use chatspace_crdt::{decode_client_bytes, Limits};
use futures_util::SinkExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tungstenite::error::ProtocolError;

use super::gate::Gate;
use super::handle::{CloseCode, Command, Outbound, RoomHandle};
use super::ratelimit::{RateLimiter, RateLimits};
use super::registry::Rooms;
use super::socket::Admitted;
use super::sockets::{Control, OpenSocket};
use crate::auth::CurrentUser;
use crate::metrics::Refusal;
use crate::rooms::access::Role;

/// A client that has not taken a frame off its socket for this long is gone; its queue would
/// overflow anyway.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long after its session's stored expiry a socket checks it: the store must see it as past.
const EXPIRY_MARGIN: Duration = Duration::from_millis(50);

/// Attempts to join a room whose task was stopping at the moment we asked.
const JOIN_ATTEMPTS: usize = 3;

/// Frames taken from the queue and written with one flush: under load a connection wakes up to
/// several frames, and one write for all of them saves a system call per frame.
const WRITE_BATCH: usize = 64;

/// What ended the loop, and so how the socket is closed.
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

pub async fn serve(rooms: Rooms, admitted: Admitted, mut socket: WebSocket) {
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
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    let registration = OpenSocket {
        room_id,
        user_id: user.id,
        session,
        control: control_tx,
    };
    let _registered = rooms.open_sockets().register(conn, registration);
    if rooms.access_epoch() != epoch {
        rooms.recheck_room(room_id);
    }
    // Learns when the session expires (and closes if it already ended).
    rooms.recheck_sessions_of(user.id);
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(rooms.config().send_queue.max(1));
    // Weak: the room dropping its sender must still end the queue (see the loop).
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
    // One wait for shutdown for the whole loop: a new one per turn would register and
    // unregister with the token on every frame. The same for the session's expiry.
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    let expiry = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(expiry);
    let mut expiry_armed = false;
    let ending: Ending = loop {
        tokio::select! {
            biased;
            () = &mut cancelled => break Ending::Close(CloseCode::GoingAway),
            Some(control) = control_rx.recv() => match control {
                Control::Close(code) => break Ending::Close(code),
                Control::Role(role) => {
                    if gate.set_role(role) {
                        tracing::debug!(conn, %role, "role changed");
                        if !handle.send(Command::Role { conn, role }).await {
                            break Ending::Close(CloseCode::TryAgainLater);
                        }
                    }
                }
                Control::SessionUntil(until) => {
                    expiry.as_mut().reset(instant_at(until));
                    expiry_armed = true;
                }
            },
            () = &mut expiry, if expiry_armed => {
                // The stored session may have been extended meanwhile: ask the store.
                expiry_armed = false;
                rooms.recheck_sessions_of(user.id);
            }
            out = out_rx.recv() => match out {
                Some(Outbound::Frame(frame)) => {
                    if let Err(ending) = write_queued(&mut socket, frame, &mut out_rx).await {
                        break ending;
                    }
                }
                Some(Outbound::Close(code)) => break Ending::Close(code),
                // The room dropped us: we fell behind, or the room is stopping.
                None if shutdown.is_cancelled() => break Ending::Close(CloseCode::GoingAway),
                None => break Ending::Close(CloseCode::TryAgainLater),
            },
            incoming = socket.recv() => {
                let Some(incoming) = incoming else { break Ending::Gone };
                let reader = Reader { handle: &handle, conn, limits: &limits };
                if let Err(ending) = reader.read(incoming, &mut rate, &mut gate).await {
                    break ending;
                }
            }
        }
    };
    handle.send(Command::Leave { conn }).await;
    match ending {
        Ending::Close(code) => code.close(&mut socket).await,
        Ending::Broken(code) => code.close_broken(&mut socket).await,
        Ending::ClientClosed => CloseCode::answer_close(&mut socket).await,
        Ending::Gone => {}
    }
    tracing::debug!(conn, ?ending, "socket closed");
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

/// Writes `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames), with one
/// flush. A close queued behind the frames ends the loop after they are written.
async fn write_queued(
    socket: &mut WebSocket,
    first: bytes::Bytes,
    out_rx: &mut mpsc::Receiver<Outbound>,
) -> Result<(), Ending> {
    let write = async {
        let mut bytes = first.len();
        socket.feed(Message::Binary(first)).await?;
        let mut close = None;
        for _ in 1..WRITE_BATCH {
            match out_rx.try_recv() {
                Ok(Outbound::Frame(frame)) => {
                    bytes += frame.len();
                    socket.feed(Message::Binary(frame)).await?;
                }
                Ok(Outbound::Close(code)) => {
                    close = Some(code);
                    break;
                }
                Err(_) => break,
            }
        }
        socket.flush().await?;
        crate::metrics::bytes_sent(bytes);
        Ok::<_, axum::Error>(close)
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(close)) => close.map_or(Ok(()), |code| Err(Ending::Close(code))),
        Ok(Err(_)) => Err(Ending::Gone),
        Err(_) => {
            tracing::warn!("a write stalled for {WRITE_TIMEOUT:?}; dropping the connection");
            Err(Ending::Gone)
        }
    }
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
            // tungstenite queued the answer to a ping; it goes out with the next read or write.
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

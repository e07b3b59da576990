//! `GET /ws/{name}`: one room socket. The session cookie and the `Origin` header are checked
//! before a byte of the room is sent; then frames are decoded here (so the room task only
//! applies them), rate-limited, and passed to the room, while the room's frames for this
//! connection are written out. Close codes are documented in `docs/protocol.md`.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use bytes::Bytes;
use chatspace_crdt::{decode_client_frame, Limits};
use tokio::sync::{mpsc, oneshot};
use tower_sessions::Session;

use super::handle::Command;
use super::ratelimit::{RateLimiter, RateLimits};
use crate::auth::{current_user, CurrentUser};
use crate::state::AppState;

/// Why the server closes a socket; the numbers are part of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    GoingAway = 1001,
    UnsupportedData = 1003,
    TooBig = 1009,
    TryAgainLater = 1013,
    Malformed = 4400,
    Unauthenticated = 4401,
    ForbiddenOrigin = 4403,
    UnknownRoom = 4404,
    RoomUnavailable = 4410,
    RateLimited = 4429,
}

impl CloseCode {
    fn reason(self) -> &'static str {
        match self {
            Self::GoingAway => "server shutting down",
            Self::UnsupportedData => "binary frames only",
            Self::TooBig => "frame too large",
            Self::TryAgainLater => "connection fell behind; reconnect to resync",
            Self::Malformed => "malformed message",
            Self::Unauthenticated => "not logged in",
            Self::ForbiddenOrigin => "origin not allowed",
            Self::UnknownRoom => "no such room",
            Self::RoomUnavailable => "room unavailable",
            Self::RateLimited => "rate limit exceeded",
        }
    }

    fn frame(self) -> Message {
        Message::Close(Some(CloseFrame {
            code: self as u16,
            reason: Utf8Bytes::from_static(self.reason()),
        }))
    }
}

/// What the room sends a connection.
#[derive(Debug)]
pub enum Outbound {
    Frame(Bytes),
    Close(CloseCode),
}

/// A client that has not taken a frame off its socket for this long is gone; its queue would
/// overflow anyway.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts to join a room whose task was stopping at the moment we asked.
const JOIN_ATTEMPTS: usize = 3;

pub async fn room_socket(
    State(state): State<AppState>,
    Path(name): Path<String>,
    session: Session,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let upgrade = upgrade
        .max_message_size(state.config.max_frame_bytes)
        .max_frame_size(state.config.max_frame_bytes);
    match admit(&state, &name, &session, &headers).await {
        Ok((room_id, user)) => upgrade.on_upgrade(move |socket| async move {
            serve(state, room_id, &name, user, socket).await;
        }),
        Err(code) => upgrade.on_upgrade(move |mut socket| async move {
            tracing::info!(room = name, code = code as u16, "socket refused");
            let _ = socket.send(code.frame()).await;
        }),
    }
}

/// Checks origin, session and room; the room id and user when the socket may join.
async fn admit(
    state: &AppState,
    name: &str,
    session: &Session,
    headers: &HeaderMap,
) -> Result<(i64, CurrentUser), CloseCode> {
    if !origin_allowed(headers, &state.config.allowed_origins) {
        return Err(CloseCode::ForbiddenOrigin);
    }
    let user = match current_user(session).await {
        Ok(Some(user)) => user,
        Ok(None) if state.config.bench_open_access => {
            return super::bench::open_access(state, name).await
        }
        Ok(None) => return Err(CloseCode::Unauthenticated),
        Err(error) => {
            tracing::error!(%error, "reading the session failed");
            return Err(CloseCode::TryAgainLater);
        }
    };
    match state.store.room_by_name(name).await {
        Ok(Some(room)) => Ok((room.id, user)),
        Ok(None) => Err(CloseCode::UnknownRoom),
        Err(error) => {
            tracing::error!(%error, "looking up a room failed");
            Err(CloseCode::TryAgainLater)
        }
    }
}

/// Browsers always send `Origin` on a WebSocket: it must be this server (the `Host` it was
/// reached at) or one the operator listed. Clients that are not browsers send none and cannot
/// be abused by another site (cross-site WebSocket hijacking), so they pass.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((host, origin_host), (Some(host), Some(origin_host)) if host.eq_ignore_ascii_case(origin_host))
}

async fn serve(
    state: AppState,
    room_id: i64,
    name: &str,
    user: CurrentUser,
    mut socket: WebSocket,
) {
    let conn = state.rooms.connection_id();
    let mut handle = state.rooms.handle(room_id, name);
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(state.config.send_queue.max(1));
    let mut joined = false;
    for _ in 0..JOIN_ATTEMPTS {
        let (reply, answer) = oneshot::channel();
        let join = Command::Join {
            conn,
            user: user.clone(),
            out: out_tx.clone(),
            reply,
        };
        if handle.send(join).await {
            match answer.await {
                Ok(Ok(())) => {
                    joined = true;
                    break;
                }
                Ok(Err(_)) => {
                    let _ = socket.send(CloseCode::RoomUnavailable.frame()).await;
                    return;
                }
                Err(_) => {}
            }
        }
        // The room task stopped between lookup and join: ask for a fresh one.
        handle = state.rooms.handle(room_id, name);
    }
    if !joined {
        let _ = socket.send(CloseCode::TryAgainLater.frame()).await;
        return;
    }
    drop(out_tx);
    tracing::debug!(conn, user = user.username, "joined");

    let limits = Limits {
        max_frame_bytes: state.config.max_frame_bytes,
        ..Limits::default()
    };
    let mut rate = RateLimiter::new(RateLimits::from_messages_per_sec(
        state.config.rate_limit_messages,
    ));
    let shutdown = state.shutdown.clone();
    let close = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Some(CloseCode::GoingAway),
            out = out_rx.recv() => match out {
                Some(Outbound::Frame(frame)) => {
                    match tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Binary(frame))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => {
                            tracing::warn!(conn, user = user.username, "a write stalled; dropping the connection");
                            break None;
                        }
                    }
                }
                Some(Outbound::Close(code)) => break Some(code),
                // The room dropped us: we fell behind, or the room is stopping.
                None if shutdown.is_cancelled() => break Some(CloseCode::GoingAway),
                None => break Some(CloseCode::TryAgainLater),
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Binary(bytes))) => {
                    if !rate.allow(bytes.len()) {
                        break Some(CloseCode::RateLimited);
                    }
                    match decode_client_frame(&bytes, &limits) {
                        Ok(message) => {
                            if !handle.send(Command::Message { conn, message }).await {
                                break Some(CloseCode::TryAgainLater);
                            }
                        }
                        Err(error) => {
                            tracing::warn!(conn, user = user.username, %error, "malformed frame");
                            break Some(CloseCode::Malformed);
                        }
                    }
                }
                Some(Ok(Message::Text(_))) => break Some(CloseCode::UnsupportedData),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Err(error)) => break too_big(&error).then_some(CloseCode::TooBig),
            },
        }
    };
    handle.send(Command::Leave { conn }).await;
    if let Some(code) = close {
        let _ = socket.send(code.frame()).await;
    }
    tracing::debug!(conn, ?close, "socket closed");
}

/// Whether a read failed because a frame or message was over the size limit.
fn too_big(error: &axum::Error) -> bool {
    let inner = error.to_string();
    tracing::debug!(error = inner, "socket read failed");
    let source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    matches!(
        source.and_then(|s| s.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

//! `GET /ws/{name}`: admitting a room socket. The `Origin` header, the session cookie and the
//! room are checked before a byte of the room is sent; a refused socket gets only a close frame.
//! An admitted one is served by `connection`. Close codes are documented in `docs/protocol.md`.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use futures_util::SinkExt;
use tower_sessions::session::Id;
use tower_sessions::Session;

use super::handle::CloseCode;
use super::registry::SocketSlot;
use crate::auth::{current_user, CurrentUser};
use crate::rooms::access::Role;
use crate::state::AppState;

impl CloseCode {
    fn frame(self) -> Message {
        Message::Close(Some(CloseFrame {
            code: self as u16,
            reason: Utf8Bytes::from_static(self.reason()),
        }))
    }

    /// Closes `socket` with this code: sends the close frame, then reads until the client
    /// answers with its own (or the socket ends, or [`CLOSE_TIMEOUT`] passes), discarding what
    /// it sent meanwhile. A socket dropped with unread bytes makes the kernel reset the
    /// connection, and the reset can overtake the close frame: the client then sees 1006
    /// instead of this code (the stock y-websocket client sends its step 1 as soon as it opens).
    pub(super) async fn close(self, socket: &mut WebSocket) {
        metrics::counter!(crate::metrics::SOCKET_CLOSES, "code" => self.as_label()).increment(1);
        let handshake = async {
            if socket.send(self.frame()).await.is_err() {
                return;
            }
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
    }

    /// Closes `socket` after a read broke the WebSocket protocol. The socket can read nothing
    /// more, so the client's answer cannot be awaited: the close frame is sent, and the
    /// connection is held for [`BROKEN_LINGER`] so that the client reads it before the end of
    /// the connection (a reset, if the client sent more) can overtake it.
    pub(super) async fn close_broken(self, socket: &mut WebSocket) {
        let send = async {
            if socket.send(self.frame()).await.is_ok() {
                tokio::time::sleep(BROKEN_LINGER).await;
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, send).await;
    }

    /// Answers the client's close frame: tungstenite queued the answer (the client's own code)
    /// when it read that frame; this writes it out. The server then ends the connection.
    pub(super) async fn answer_close(socket: &mut WebSocket) {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.flush()).await;
    }
}

/// How long a closing socket waits for the client's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a socket that broke the protocol stays open after the server's close frame.
const BROKEN_LINGER: Duration = Duration::from_secs(1);

/// Bytes a socket reads at a time (see `room_socket`): the frames of a room are mostly tens of
/// bytes, and an idle connection measured 8.2 KB of server memory with 2 KiB, 10.1 KB with 4 KiB
/// (an earlier load run, in the git history of docs/benchmarks.md).
const READ_BUFFER: usize = 2 * 1024;

pub async fn room_socket(
    State(state): State<AppState>,
    Path(name): Path<String>,
    session: Session,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let upgrade = upgrade
        .max_message_size(state.config.max_frame_bytes)
        .max_frame_size(state.config.max_frame_bytes)
        // tungstenite allocates (and zero-fills before each read) a read buffer of this size per
        // socket; its 128 KiB default made every idle connection cost 137 KB and a memset per
        // read. Larger frames grow the buffer as needed.
        .read_buffer_size(READ_BUFFER);
    match admit(&state, &name, &session, &headers).await {
        Ok((admitted, slot)) => upgrade.on_upgrade(move |socket| {
            // Boxed at once: the connection splits it between its reader and its writer, and a
            // socket held by value would keep its place (368 bytes) in every future it passed
            // through for the connection's whole life.
            let socket = Box::new(socket);
            async move {
                super::connection::serve(state.rooms.clone(), admitted, socket).await;
                drop(slot);
            }
        }),
        Err(code) => upgrade.on_upgrade(move |mut socket| async move {
            tracing::info!(room = name, code = code as u16, "socket refused");
            code.close(&mut socket).await;
        }),
    }
}

/// What an admitted socket joins with.
pub(super) struct Admitted {
    pub room_id: i64,
    /// The room's name as created.
    pub name: String,
    pub user: CurrentUser,
    pub role: Role,
    /// The session the socket was opened on: it closes when that session ends.
    pub session: Option<Id>,
    /// `Rooms::access_epoch` before the role was looked up.
    pub epoch: u64,
}

/// Checks origin, session, the user's socket count and the user's access to the room; what
/// the socket joins with, and the user's socket slot, when it may join. A private room the
/// user is not a member of is refused exactly as a missing one (4404).
async fn admit(
    state: &AppState,
    name: &str,
    session: &Session,
    headers: &HeaderMap,
) -> Result<(Admitted, SocketSlot), CloseCode> {
    if !origin_allowed(headers, &state.config.allowed_origins) {
        return Err(CloseCode::ForbiddenOrigin);
    }
    let user = match current_user(session).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(CloseCode::Unauthenticated),
        Err(error) => {
            tracing::error!(%error, "reading the session failed");
            return Err(CloseCode::TryAgainLater);
        }
    };
    let slot = state
        .rooms
        .claim_socket(user.id)
        .ok_or(CloseCode::TooManySockets)?;
    let epoch = state.rooms.access_epoch();
    match state.store.room_access(name, user.id).await {
        Ok(Some(access)) => {
            let admitted = Admitted {
                room_id: access.room_id,
                name: access.name,
                user,
                role: access.role,
                session: session.id(),
                epoch,
            };
            Ok((admitted, slot))
        }
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

//! Every open room socket of this node, reachable from outside its room: what a change of who
//! may use a room, or the end of a session, needs in order to reach the sockets it concerns.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tower_sessions::session::Id;

use super::handle::CloseCode;
use crate::rooms::access::Role;

/// What the server tells one open socket from outside its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    /// The user's role in the room, as just read (often the one it has).
    Role(Role),
    /// Close the socket with this code.
    Close(CloseCode),
    /// The socket's session is stored until this moment: check it again then.
    SessionUntil(OffsetDateTime),
}

/// One open socket, as the registry knows it.
pub(super) struct OpenSocket {
    pub room_id: i64,
    pub user_id: i64,
    /// The session it was opened on (none only for a session the store had not saved).
    pub session: Option<Id>,
    pub control: mpsc::UnboundedSender<Control>,
}

/// The open sockets by connection id. A std mutex: held only to insert, remove or pick.
#[derive(Default)]
pub(super) struct OpenSockets(Mutex<HashMap<u64, OpenSocket>>);

impl OpenSockets {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, OpenSocket>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `control` to every socket `pick` selects.
    pub fn tell(&self, pick: impl Fn(&OpenSocket) -> bool, control: Control) {
        for socket in self.lock().values().filter(|s| pick(s)) {
            let _ = socket.control.send(control);
        }
    }

    /// The sockets opened on session `old` belong to `new` from now on: the same session,
    /// renewed under another id.
    pub fn renew(&self, old: Id, new: Id) {
        for socket in self.lock().values_mut().filter(|s| s.session == Some(old)) {
            socket.session = Some(new);
        }
    }

    /// Sends `control` to every socket of `room_id` opened by `user_id`.
    pub fn tell_user_in_room(&self, room_id: i64, user_id: i64, control: Control) {
        self.tell(|s| s.room_id == room_id && s.user_id == user_id, control);
    }

    /// The users with a socket in `room_id`.
    pub fn users_in(&self, room_id: i64) -> HashSet<i64> {
        let sockets = self.lock();
        sockets
            .values()
            .filter(|s| s.room_id == room_id)
            .map(|s| s.user_id)
            .collect()
    }

    /// The sessions of the sockets `pick` selects (of one user, or every one).
    pub fn sessions(&self, pick: impl Fn(&OpenSocket) -> bool) -> HashSet<Id> {
        let sockets = self.lock();
        sockets
            .values()
            .filter(|s| pick(s))
            .filter_map(|s| s.session)
            .collect()
    }
}

/// A socket's place in the registry, from its registration until dropped.
pub(super) struct Registered {
    sockets: Arc<OpenSockets>,
    conn: u64,
}

impl OpenSockets {
    pub fn register(self: &Arc<Self>, conn: u64, socket: OpenSocket) -> Registered {
        self.lock().insert(conn, socket);
        Registered {
            sockets: Arc::clone(self),
            conn,
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.sockets.lock().remove(&self.conn);
    }
}

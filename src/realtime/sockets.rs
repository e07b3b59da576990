//! Every open room socket of this node, reachable from outside its room: what a change of who
//! may use a room, or the end of a session, needs in order to reach the sockets it concerns.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::Notify;
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
    pub control: Arc<Inbox>,
}

/// What the server told one socket and the socket has not read yet: the first close, the
/// latest role and the latest session expiry (an earlier one of each says nothing more), and a
/// wake-up. An unbounded channel did this before, and with its block of 32 slots allocated for
/// every socket up front it was 1.8 KB of the 11 KB an idle connection cost (measured, 5,000
/// sockets), for messages that come a few times in a socket's life, if ever.
#[derive(Default)]
pub(super) struct Inbox {
    told: Mutex<Told>,
    changed: Notify,
}

/// The unread part of an [`Inbox`].
#[derive(Debug, Default, PartialEq)]
pub(super) struct Told {
    pub close: Option<CloseCode>,
    pub role: Option<Role>,
    pub session_until: Option<OffsetDateTime>,
}

impl Inbox {
    /// Leaves `control` for the socket and wakes it.
    pub fn post(&self, control: Control) {
        {
            let mut told = self.told();
            match control {
                Control::Close(code) => {
                    told.close.get_or_insert(code);
                }
                Control::Role(role) => told.role = Some(role),
                Control::SessionUntil(until) => told.session_until = Some(until),
            }
        }
        // A permit is kept when the socket is not waiting: nothing posted is missed.
        self.changed.notify_one();
    }

    /// Waits until something was posted since the last [`Inbox::take`], then takes it.
    pub async fn next(&self) -> Told {
        loop {
            self.changed.notified().await;
            let told = self.take();
            // A post between a take and its permit wakes with nothing left: wait again.
            if told != Told::default() {
                return told;
            }
        }
    }

    fn take(&self) -> Told {
        std::mem::take(&mut *self.told())
    }

    fn told(&self) -> MutexGuard<'_, Told> {
        self.told.lock().unwrap_or_else(|p| p.into_inner())
    }
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
            socket.control.post(control);
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

#[cfg(test)]
mod tests {
    use super::{Control, Inbox, Told};
    use crate::realtime::handle::CloseCode;
    use crate::rooms::access::Role;
    use std::sync::Arc;
    use std::time::Duration;
    use time::OffsetDateTime;

    const PATIENCE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn what_was_posted_before_the_socket_reads_is_read_as_its_latest_state() {
        let inbox = Inbox::default();
        let until = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(60);
        inbox.post(Control::Role(Role::Viewer));
        inbox.post(Control::SessionUntil(OffsetDateTime::UNIX_EPOCH));
        inbox.post(Control::Close(CloseCode::Unauthenticated));
        inbox.post(Control::Role(Role::Editor));
        inbox.post(Control::SessionUntil(until));
        inbox.post(Control::Close(CloseCode::UnknownRoom));
        let told = tokio::time::timeout(PATIENCE, inbox.next()).await;
        let expected = Told {
            close: Some(CloseCode::Unauthenticated),
            role: Some(Role::Editor),
            session_until: Some(until),
        };
        assert_eq!(
            told.ok(),
            Some(expected),
            "the first close, the latest of the rest"
        );
    }

    #[tokio::test]
    async fn a_socket_waiting_on_its_inbox_wakes_for_each_post() {
        let inbox = Arc::new(Inbox::default());
        for role in [Role::Viewer, Role::Owner] {
            let reader = tokio::spawn({
                let inbox = Arc::clone(&inbox);
                async move { inbox.next().await }
            });
            tokio::task::yield_now().await;
            inbox.post(Control::Role(role));
            let told = tokio::time::timeout(PATIENCE, reader).await;
            let role_read = told.ok().and_then(Result::ok).and_then(|t| t.role);
            assert_eq!(role_read, Some(role), "the waiting socket read the role");
        }
    }
}

//! A room's connections: who is in the room with which role, a change of role, and closing
//! and forgetting a connection.

use bytes::Bytes;
use chatspace_crdt::codec::{chat_frame, sync_step1_frame, ChatEvent};
use chatspace_crdt::presence::ConnectionAwareness;
use tokio::sync::mpsc;

use super::awareness::awareness_cap;
use super::handle::{CloseCode, Outbound};
use super::room::LiveRoom;
use crate::auth::CurrentUser;
use crate::bus::Notice;
use crate::rooms::access::Role;

pub(super) struct Subscriber {
    pub(super) user: CurrentUser,
    /// What the user may do; the connection drops what a viewer may not send, the room caps a
    /// viewer's awareness ids and asks a promoted viewer for what it holds.
    pub(super) role: Role,
    pub(super) out: mpsc::Sender<Outbound>,
    /// The awareness client ids this connection speaks for; their states are removed for
    /// everyone when it closes (as y-websocket's server does).
    pub(super) awareness: ConnectionAwareness,
    /// Whether entries beyond the per-connection id cap were already logged.
    pub(super) awareness_capped: bool,
}

/// The chat frame that tells a client its role.
pub(super) fn role_frame(role: Role) -> Bytes {
    let role = role.as_str().to_owned();
    Bytes::from(chat_frame(&ChatEvent::Role { role }))
}

impl LiveRoom {
    /// The connection's user has a new role: tell the client; a viewer's awareness is capped;
    /// one that may edit again gets a fresh sync step 1, so that what it holds (what it typed
    /// as a viewer was dropped) flows up in its answer.
    pub(super) fn change_role(&mut self, conn: u64, role: Role) {
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

//! How a change of who may use a room, or the end of a session, reaches the open sockets it
//! concerns, on this node and (through the bus) on every other one.
//!
//! Every socket re-checks from the database, never from what a notice says: a notice only
//! says what to re-check. One worker per node does the re-checks one after another, so that
//! the answer to a later change always lands after the answer to an earlier one. A node that
//! may have missed notices (its bus reader lost Redis, or a publisher says some of its notices
//! were lost) re-checks every socket concerned.

use std::collections::HashSet;
use std::mem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tower_sessions::session::Id;

use super::handle::{CloseCode, Command};
use super::registry::{AccessChange, Rooms};
use super::sockets::{Control, OpenSocket};
use crate::bus::{session_digest, Notice, Remote, SessionDigest};

/// How long a re-check that the database could not answer waits before it is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// A session that lives on under a new id: the one a password was changed in.
#[derive(Debug, Clone, Copy)]
pub struct Renewed {
    pub old: Id,
    pub new: Id,
}

/// What the worker has to re-check.
#[derive(Default)]
pub(super) struct Rechecks {
    pending: Mutex<Pending>,
    wake: Notify,
    /// Counts the changes of who may use a room that this node heard of. A socket reads it
    /// before its admission looks the user's role up and again once it is registered: when it
    /// moved, a change may have been re-checked before the socket could be found, and its room
    /// is re-checked once more.
    epoch: AtomicU64,
}

#[derive(Default)]
struct Pending {
    rooms: HashSet<i64>,
    users: HashSet<i64>,
    every_session: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.rooms.is_empty() && self.users.is_empty() && !self.every_session
    }

    fn merge(&mut self, other: Pending) {
        self.rooms.extend(other.rooms);
        self.users.extend(other.users);
        self.every_session |= other.every_session;
    }
}

impl Rooms {
    /// Tells the room's open sockets, on this node and on every other one, that who may use
    /// the room changed (`change`), after the change is committed to the database: within a
    /// second each socket takes its user's new role, or closes when the user may no longer
    /// open the room (4405), or when the room is gone (4404).
    pub async fn access_changed(&self, room_id: i64, change: AccessChange) {
        match change {
            AccessChange::Rules => {
                self.recheck_room(room_id);
                self.publish_room(room_id, Notice::Access);
            }
            AccessChange::Deleted => {
                self.room_deleted(room_id).await;
                self.publish_room(room_id, Notice::Deleted);
            }
        }
    }

    /// Closes every socket opened on `session` (logout) with 4401, on every node.
    pub fn end_session(&self, session: Id, user_id: i64) {
        let ended = Control::Close(CloseCode::Unauthenticated);
        self.open_sockets()
            .tell(|s| s.session == Some(session), ended);
        if let Some(bus) = self.bus() {
            // The other nodes cannot be told the session id (a bearer secret) over Redis: they
            // check the sessions of this user's sockets against the store instead.
            bus.publish_control(Notice::SessionEnded { user_id });
        }
    }

    /// Closes every socket of `user_id` with 4401, on every node: for when every session of
    /// the user ends (a password change, the account's deletion). The sockets of a `renewed`
    /// session (the one a password was changed in) stay open on this node, under its new id;
    /// other nodes close theirs with 1013, and their clients reconnect on the new id.
    pub fn end_user_sessions(&self, user_id: i64, renewed: Option<Renewed>) {
        let sockets = self.open_sockets();
        if let Some(Renewed { old, new }) = renewed {
            sockets.renew(old, new);
        }
        let kept = renewed.map(|renewed| renewed.new);
        let ended = Control::Close(CloseCode::Unauthenticated);
        sockets.tell(
            |s| s.user_id == user_id && (kept.is_none() || s.session != kept),
            ended,
        );
        if let Some(bus) = self.bus() {
            let renewed = renewed.map(|renewed| session_digest(&renewed.old));
            bus.publish_control(Notice::UserEnded { user_id, renewed });
        }
    }

    /// Another node's [`Rooms::end_user_sessions`]: the sockets of the renewed session (known
    /// here by its old id's digest) close with 1013, to come back on the new id; the rest 4401.
    fn close_user_sockets(&self, user_id: i64, renewed: Option<&SessionDigest>) {
        let lives_on = |s: &OpenSocket| {
            let digest = s.session.map(|id| session_digest(&id));
            renewed.is_some() && digest.as_ref() == renewed
        };
        let sockets = self.open_sockets();
        let again = Control::Close(CloseCode::TryAgainLater);
        sockets.tell(|s| s.user_id == user_id && lives_on(s), again);
        let ended = Control::Close(CloseCode::Unauthenticated);
        sockets.tell(|s| s.user_id == user_id && !lives_on(s), ended);
    }

    /// The room is gone: its sockets close with 4404 and its task stops without saving.
    async fn room_deleted(&self, room_id: i64) {
        self.close_room_sockets(room_id);
        if let Some(handle) = self.live_handle(room_id) {
            handle.send(Command::Delete).await;
        }
    }

    /// Closes every socket of a deleted room with 4404 (its task stops on its own).
    pub(super) fn close_room_sockets(&self, room_id: i64) {
        let gone = Control::Close(CloseCode::UnknownRoom);
        self.open_sockets().tell(|s| s.room_id == room_id, gone);
        // A socket admitted just before the deletion and registered just after it.
        self.recheck_room(room_id);
    }

    fn publish_room(&self, room_id: i64, notice: Notice) {
        if let Some(bus) = self.bus() {
            bus.publish(room_id, notice);
        }
    }

    /// See [`Rechecks::epoch`].
    pub(super) fn access_epoch(&self) -> u64 {
        self.rechecks().epoch.load(Ordering::SeqCst)
    }

    /// Every socket of the room re-checks its user's role.
    pub(super) fn recheck_room(&self, room_id: i64) {
        self.rechecks().epoch.fetch_add(1, Ordering::SeqCst);
        self.mark(|p| {
            p.rooms.insert(room_id);
        });
    }

    /// Every socket of `user_id` checks that its session is still stored, and when it expires.
    pub(super) fn recheck_sessions_of(&self, user_id: i64) {
        self.mark(|p| {
            p.users.insert(user_id);
        });
    }

    fn mark(&self, change: impl FnOnce(&mut Pending)) {
        let rechecks = self.rechecks();
        change(&mut rechecks.pending.lock().unwrap_or_else(|p| p.into_inner()));
        rechecks.wake.notify_one();
    }
}

/// The re-check worker: runs until shutdown.
pub(super) async fn run(rooms: Rooms) {
    let shutdown = rooms.shutdown().clone();
    loop {
        tokio::select! {
            () = rooms.rechecks().wake.notified() => {}
            () = shutdown.cancelled() => return,
        }
        let pending = mem::take(
            &mut *rooms
                .rechecks()
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let failed = recheck(&rooms, pending).await;
        if !failed.is_empty() {
            let rooms = rooms.clone();
            tokio::spawn(async move {
                tokio::time::sleep(RETRY).await;
                rooms.mark(|p| p.merge(failed));
            });
        }
    }
}

/// Re-checks what `pending` names; returns what the database could not answer.
async fn recheck(rooms: &Rooms, pending: Pending) -> Pending {
    let mut failed = Pending::default();
    let sockets = rooms.open_sockets();
    for room_id in pending.rooms {
        if let Err(error) = recheck_room(rooms, room_id).await {
            tracing::warn!(%error, room_id, "re-checking the room's sockets failed; trying again");
            failed.rooms.insert(room_id);
        }
    }
    let users = pending.users;
    let sessions = match pending.every_session {
        true => sockets.sessions(|_| true),
        false => sockets.sessions(|s| users.contains(&s.user_id)),
    };
    for session in sessions {
        let control = match rooms.sessions().expiry(&session).await {
            Ok(Some(until)) => Control::SessionUntil(until),
            Ok(None) => Control::Close(CloseCode::Unauthenticated),
            Err(error) => {
                tracing::warn!(%error, "re-checking a socket's session failed; trying again");
                failed.every_session = true;
                continue;
            }
        };
        sockets.tell(|s| s.session == Some(session), control);
    }
    failed
}

/// Gives every socket of the room its user's role as stored now, or closes it.
async fn recheck_room(rooms: &Rooms, room_id: i64) -> sqlx::Result<()> {
    let sockets = rooms.open_sockets();
    let mut exists = None;
    for user_id in sockets.users_in(room_id) {
        let control = match rooms.store().room_access_by_id(room_id, user_id).await? {
            Some(access) => Control::Role(access.role),
            None => {
                let exists = match exists {
                    Some(exists) => exists,
                    None => *exists.insert(rooms.store().room_exists(room_id).await?),
                };
                Control::Close(match exists {
                    true => CloseCode::NoLongerAllowed,
                    false => CloseCode::UnknownRoom,
                })
            }
        };
        sockets.tell_user_in_room(room_id, user_id, control);
    }
    Ok(())
}

/// Follows the bus's control stream until shutdown: other nodes' ended sessions.
pub(super) async fn follow_control(rooms: Rooms, mut notices: mpsc::UnboundedReceiver<Remote>) {
    let shutdown = rooms.shutdown().clone();
    loop {
        let remote = tokio::select! {
            remote = notices.recv() => match remote {
                Some(remote) => remote,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        match remote {
            Remote::Notice { notice, .. } => match notice {
                Notice::SessionEnded { user_id } => rooms.recheck_sessions_of(user_id),
                Notice::UserEnded { user_id, renewed } => {
                    rooms.close_user_sockets(user_id, renewed.as_ref())
                }
                // Another node's control notices were lost while it could not reach Redis.
                Notice::Refetch => rooms.mark(|p| p.every_session = true),
                _ => {}
            },
            // This node may have missed some.
            Remote::Reconnected => rooms.mark(|p| p.every_session = true),
            Remote::NodeGone(_) => {}
        }
    }
}

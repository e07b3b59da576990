//! The live rooms: at most one task per room, started on first join and gone after it has been
//! idle for the grace period. Sockets find their room's task here, and each user's count of
//! open sockets is kept here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::enforce::{self, Rechecks};
use super::handle::{Command, RoomHandle};
use super::room;
use super::sockets::OpenSockets;
use crate::bus::Bus;
use crate::config::Config;
use crate::metrics::Gauges;
use crate::store::{SessionStorage, Store};

/// What changed about who may use a room (see [`Rooms::access_changed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChange {
    /// Its visibility, default role or a membership: every socket re-checks its user's role.
    Rules,
    /// The room is gone: every socket closes.
    Deleted,
}

/// Commands queued for one room before senders wait; a waiting socket stops reading, which is
/// the backpressure a flooding client should feel.
const ROOM_QUEUE: usize = 4096;

/// Cheap-to-clone handle on the live rooms.
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

struct Inner {
    /// Room id to its task's handle. A std mutex: held only to look up, insert or remove.
    live: Mutex<HashMap<i64, RoomHandle>>,
    store: Store,
    bus: Option<Bus>,
    config: Arc<Config>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    next_connection: AtomicU64,
    /// Open sockets per user id (users with none are absent).
    user_sockets: Mutex<HashMap<i64, usize>>,
    /// The open connections and live rooms, for `/metrics`.
    gauges: Gauges,
    /// Every open socket, for what reaches sockets from outside their room (`enforce`).
    sockets: Arc<OpenSockets>,
    rechecks: Rechecks,
    /// Where sessions are stored: a socket's session is checked there when it may have ended.
    sessions: SessionStorage,
}

impl Rooms {
    /// The live rooms, and the tasks that carry changes of access and ended sessions to their
    /// sockets (see `enforce`). Call inside the runtime.
    pub fn new(
        store: Store,
        sessions: SessionStorage,
        bus: Option<Bus>,
        config: Arc<Config>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let rooms = Self {
            inner: Arc::new(Inner {
                live: Mutex::default(),
                store,
                bus,
                config,
                shutdown,
                tasks,
                next_connection: AtomicU64::new(1),
                user_sockets: Mutex::default(),
                gauges: Gauges::default(),
                sockets: Arc::default(),
                rechecks: Rechecks::default(),
                sessions,
            }),
        };
        rooms.inner.tasks.spawn(enforce::run(rooms.clone()));
        if let Some(bus) = rooms.bus().cloned() {
            let follower = rooms.clone();
            rooms.inner.tasks.spawn(async move {
                let notices = bus.subscribe_control().await;
                enforce::follow_control(follower, notices).await;
            });
        }
        rooms
    }

    /// A fresh id for a connection, unique for the life of the process.
    pub fn connection_id(&self) -> u64 {
        self.inner.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts one more open socket for `user_id`, unless the user already has
    /// `--max-sockets-per-user` of them. The socket counts until the slot is dropped.
    pub fn claim_socket(&self, user_id: i64) -> Option<SocketSlot> {
        let max = self.inner.config.max_sockets_per_user;
        let mut counts = self
            .inner
            .user_sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(user_id).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            inner: Arc::clone(&self.inner),
            user_id,
        })
    }

    /// The handle of the room's task, starting the task (which loads the room) if there is none.
    /// Everyone who asks while the room loads queues behind the load, so all see the stored
    /// document.
    pub fn handle(&self, room_id: i64, name: &str) -> RoomHandle {
        let mut live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(handle) = live.get(&room_id).filter(|h| !h.is_closed()) {
            return handle.clone();
        }
        let (tx, rx) = mpsc::channel::<Command>(ROOM_QUEUE);
        let handle = RoomHandle::new(tx);
        live.insert(room_id, handle.clone());
        let span = tracing::info_span!("room", room = name, room_id);
        // Live from here until the task ends, however it ends.
        let task = self
            .inner
            .gauges
            .room()
            .during(room::run(room_id, self.clone(), rx));
        self.inner.tasks.spawn(task.instrument(span));
        handle
    }

    /// Removes the room if its queue is empty, so that no command can reach a task that is
    /// about to stop. Called by the room's own task once it has saved everything; false means
    /// a command came in meanwhile and the room must carry on.
    pub(super) fn remove_if_idle(&self, room_id: i64, rx: &mpsc::Receiver<Command>) -> bool {
        let mut live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
        if !rx.is_empty() {
            return false;
        }
        live.remove(&room_id);
        true
    }

    /// Forgets the room without conditions: its task is stopping because it failed.
    pub(super) fn remove(&self, room_id: i64) {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&room_id);
    }

    /// The handle of the room's task, if it is live.
    pub(super) fn live_handle(&self, room_id: i64) -> Option<RoomHandle> {
        let live = self.inner.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(&room_id).filter(|h| !h.is_closed()).cloned()
    }

    pub(super) fn open_sockets(&self) -> &Arc<OpenSockets> {
        &self.inner.sockets
    }

    pub(super) fn rechecks(&self) -> &Rechecks {
        &self.inner.rechecks
    }

    pub(super) fn sessions(&self) -> &SessionStorage {
        &self.inner.sessions
    }

    pub(super) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Where the room tasks and their writers run, so that shutdown waits for them.
    /// The bus to the other nodes, when there is one.
    pub(super) fn bus(&self) -> Option<&Bus> {
        self.inner.bus.as_ref()
    }

    pub(super) fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }

    pub(super) fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(super) fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    pub fn gauges(&self) -> &Gauges {
        &self.inner.gauges
    }
}

/// One open socket of a user, counted from [`Rooms::claim_socket`] until dropped.
pub struct SocketSlot {
    inner: Arc<Inner>,
    user_id: i64,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self
            .inner
            .user_sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.user_id);
            }
        }
    }
}

//! The bus between nodes: Redis Streams, one stream per room. Every node that has a room live
//! appends what the room's own clients did to the room's stream and reads what the other nodes
//! appended, so that clients of one room on different nodes see each other's edits, presence
//! and chat.
//!
//! One more stream, the node-wide control stream, carries what concerns sockets of every room:
//! ended sessions (`control`).
//!
//! PostgreSQL stays the system of record; the bus only carries news. A document update is
//! published once its node has stored it, with the sequence number the database gave it. A node
//! that sees a hole in those numbers that does not fill, or that lost its connection to Redis,
//! catches up from the database (`realtime::remote`). Losing Redis, or everything in it, loses
//! nothing durable.

mod announce;
mod control;
mod liveness;
mod message;
mod publisher;
mod reader;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use announce::announce;
pub use message::{session_digest, Notice, Remote, SessionDigest};

/// Notices that could not be published (Redis unreachable); the other nodes catch up from the
/// database.
pub const PUBLISH_DROPPED: &str = "chatspace_bus_publish_dropped_total";
/// Failed reads of the room streams (each one a lost connection, reconnected after a wait).
pub const READ_ERRORS: &str = "chatspace_bus_read_errors_total";
/// Time from a notice's publication (its entry id) to its reading on this node.
pub const LAG_SECONDS: &str = "chatspace_bus_lag_seconds";
/// Times a room caught up from the database (a hole in the sequence numbers that did not fill,
/// a lost connection, a notice asking for it).
pub const GAP_FETCHES: &str = "chatspace_bus_gap_fetches_total";

/// Entries kept per room stream (approximately: Redis trims whole nodes of its radix tree). A
/// reader further behind than this catches up from the database instead.
const STREAM_MAX_LEN: usize = 1_000;
/// A stream nobody has written to for this long is deleted by Redis.
const STREAM_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long one command may take before the connection is considered broken.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// First wait before reconnecting to Redis; it doubles up to [`MAX_RECONNECT_WAIT`].
const FIRST_RECONNECT_WAIT: Duration = Duration::from_millis(100);
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(5);

/// Cheap-to-clone handle on this node's connection to the bus.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    node: String,
    /// Prefix of every key, so that several deployments (or tests) can share one Redis.
    prefix: String,
    client: redis::Client,
    /// A connection for the odd command (stream positions, unblocking the reader), opened again
    /// after an error.
    commands: Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// What the rooms (and the control side) publish, in order, to the publisher task.
    outgoing: mpsc::UnboundedSender<(Topic, Notice)>,
    /// The rooms live on this node: where to deliver what other nodes publish, and the id of
    /// the last entry read from each room's stream.
    rooms: Mutex<HashMap<i64, Subscription>>,
    /// Wakes the reader when the set of rooms changes.
    rooms_changed: Notify,
    /// The reader's connection id, for `CLIENT UNBLOCK` when the set of rooms changes.
    reader_client: Mutex<Option<i64>>,
    /// Whether the last command on each connection succeeded (for `/readyz`).
    publisher_up: AtomicBool,
    reader_up: AtomicBool,
    /// Numbers the subscriptions.
    subscriptions: AtomicU64,
    /// The other nodes whose clients' presence the rooms here show: watched by `liveness`.
    watched: Mutex<HashSet<String>>,
    /// Where what other nodes publish on the control stream goes, once subscribed.
    control: Mutex<Option<Subscription>>,
}

/// A stream of the bus: a room's, or the node-wide control stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    Room(i64),
    Control,
}

struct Subscription {
    to_room: mpsc::UnboundedSender<Remote>,
    last_id: String,
    /// Which of the room's tasks subscribed (an unloading task must not end its successor's).
    token: u64,
}

/// A room task's subscription: what other nodes publish for the room arrives on `notices`.
/// Dropping it ends the subscription.
pub struct Subscribed {
    pub notices: mpsc::UnboundedReceiver<Remote>,
    bus: Bus,
    room_id: i64,
    token: u64,
}

impl Subscribed {
    pub fn bus(&self) -> &Bus {
        &self.bus
    }
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        let mut rooms = self.bus.rooms();
        if rooms
            .get(&self.room_id)
            .is_some_and(|sub| sub.token == self.token)
        {
            rooms.remove(&self.room_id);
        }
    }
}

impl Bus {
    /// Connects to Redis at `url` (it must answer now) and starts this node's publisher and
    /// reader tasks, which reconnect on their own from then on.
    pub async fn connect(
        url: &str,
        prefix: &str,
        node: &str,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (client, mut probe) = open(url).await?;
        let _: String = redis::cmd("PING")
            .query_async(&mut probe)
            .await
            .context("Redis does not answer PING")?;
        describe_metrics();
        let (outgoing, queue) = mpsc::unbounded_channel();
        let bus = Bus {
            inner: Arc::new(Inner {
                node: node.to_owned(),
                prefix: prefix.to_owned(),
                client,
                commands: Mutex::new(Some(probe)),
                outgoing,
                rooms: Mutex::default(),
                rooms_changed: Notify::new(),
                reader_client: Mutex::default(),
                publisher_up: AtomicBool::new(true),
                reader_up: AtomicBool::new(true),
                subscriptions: AtomicU64::new(0),
                watched: Mutex::default(),
                control: Mutex::default(),
            }),
        };
        tasks.spawn(publisher::run(bus.clone(), queue, shutdown.clone()));
        tasks.spawn(reader::run(bus.clone(), shutdown.clone()));
        tasks.spawn(liveness::run(bus.clone(), shutdown));
        Ok(bus)
    }

    /// This node's id, as it appears on the bus.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Whether both connections to Redis work (as of their last command).
    pub fn is_up(&self) -> bool {
        self.inner.publisher_up.load(Ordering::Relaxed)
            && self.inner.reader_up.load(Ordering::Relaxed)
    }

    /// Starts delivering what other nodes publish for `room_id` from this moment on. Call it
    /// before reading the room from the database: whatever is published after this moment is
    /// delivered, and what was published before it was stored before it was published, so the
    /// database read has it.
    pub async fn subscribe(&self, room_id: i64) -> Subscribed {
        let last_id = self.last_entry_id(Topic::Room(room_id)).await;
        let (to_room, notices) = mpsc::unbounded_channel();
        let token = self.inner.subscriptions.fetch_add(1, Ordering::Relaxed);
        let subscription = Subscription {
            to_room,
            last_id,
            token,
        };
        self.rooms().insert(room_id, subscription);
        self.wake_reader().await;
        Subscribed {
            notices,
            bus: self.clone(),
            room_id,
            token,
        }
    }

    /// Queues `notice` for the room's stream. Never waits: the publisher task sends it.
    pub fn publish(&self, room_id: i64, notice: Notice) {
        self.publish_on(Topic::Room(room_id), notice);
    }

    fn publish_on(&self, topic: Topic, notice: Notice) {
        // The publisher only stops at shutdown, after the rooms.
        let _ = self.inner.outgoing.send((topic, notice));
    }

    fn stream_key(&self, topic: Topic) -> String {
        match topic {
            Topic::Room(room_id) => format!("{}:room:{room_id}", self.inner.prefix),
            Topic::Control => control_key(&self.inner.prefix),
        }
    }

    fn room_of_key(&self, key: &str) -> Option<i64> {
        key.strip_prefix(&self.inner.prefix)?
            .strip_prefix(":room:")?
            .parse()
            .ok()
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Subscription>> {
        self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The id of the newest entry of the stream, or, when Redis cannot be asked, one made from
    /// the clock (entry ids are milliseconds since the epoch, then a counter).
    async fn last_entry_id(&self, topic: Topic) -> String {
        let key = self.stream_key(topic);
        let newest = async {
            let mut conn = self.command_connection().await?;
            let newest: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(&key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>(newest.ids.into_iter().next().map(|entry| entry.id))
        };
        let newest = newest.await;
        if newest.is_err() {
            self.drop_command_connection();
        }
        match newest {
            Ok(Some(id)) => id,
            Ok(None) => "0-0".to_owned(),
            Err(error) => {
                tracing::warn!(%error, ?topic, "cannot read the stream's position; reading from now");
                format!("{}-0", crate::clock::now_millis())
            }
        }
    }

    /// Makes the reader's blocking read return, so that its next one covers the current rooms.
    async fn wake_reader(&self) {
        self.inner.rooms_changed.notify_one();
        let reader = *self
            .inner
            .reader_client
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let Some(reader) = reader else {
            return;
        };
        let unblocked = async {
            let mut conn = self.command_connection().await?;
            redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(reader)
                .query_async::<i64>(&mut conn)
                .await
        };
        if let Err(error) = unblocked.await {
            // The reader's next read (at most its block time away) picks the room up anyway.
            tracing::debug!(%error, "could not unblock the bus reader");
            self.drop_command_connection();
        }
    }

    /// Answers `PING` (for `/readyz`).
    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.command_connection().await?;
        let pinged = redis::cmd("PING").query_async::<String>(&mut conn).await;
        if pinged.is_err() {
            self.drop_command_connection();
        }
        pinged.map(|_| ())
    }

    async fn command_connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let cached = self
            .inner
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match cached {
            Some(conn) => Ok(conn),
            None => {
                let conn = connection(&self.inner.client, RESPONSE_TIMEOUT).await?;
                *self
                    .inner
                    .commands
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
                Ok(conn)
            }
        }
    }

    fn drop_command_connection(&self) {
        *self
            .inner
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn describe_metrics() {
    metrics::describe_counter!(
        PUBLISH_DROPPED,
        "Notices for other nodes dropped because Redis was unreachable"
    );
    metrics::describe_counter!(READ_ERRORS, "Failed reads of the room streams on Redis");
    metrics::describe_histogram!(
        LAG_SECONDS,
        metrics::Unit::Seconds,
        "Time from a notice's publication on another node to its reading here"
    );
    metrics::describe_counter!(
        GAP_FETCHES,
        "Times a live room caught up from the database instead of the bus"
    );
    for counter in [PUBLISH_DROPPED, READ_ERRORS, GAP_FETCHES] {
        metrics::counter!(counter).increment(0);
    }
}

/// A multiplexed connection whose commands time out after `response_timeout`.
/// The control stream's key for the deployment under `prefix`.
fn control_key(prefix: &str) -> String {
    format!("{prefix}:control")
}

/// A client for the Redis at `url` and a first connection to it.
async fn open(url: &str) -> anyhow::Result<(redis::Client, redis::aio::MultiplexedConnection)> {
    let client = redis::Client::open(url).context("invalid Redis URL")?;
    let conn = connection(&client, RESPONSE_TIMEOUT)
        .await
        .with_context(|| {
            format!(
                "failed to connect to Redis at {}",
                crate::store::redacted(url)
            )
        })?;
    Ok((client, conn))
}

async fn connection(
    client: &redis::Client,
    response_timeout: Duration,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(RESPONSE_TIMEOUT))
        .set_response_timeout(Some(response_timeout));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// The next wait before reconnecting.
fn backoff(wait: Duration) -> Duration {
    (wait * 2).min(MAX_RECONNECT_WAIT)
}

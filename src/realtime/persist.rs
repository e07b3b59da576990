//! A room's persistence. The room task never waits for the database: it keeps the bookkeeping
//! of its update log (how long it is, when to compact) and hands every write and read to
//! the room's writer task, which performs them one at a time, in the order they were handed
//! over, and reports back what the room must deliver.
//!
//! Order is what makes the guarantees: applied updates are handed over in groups (one
//! transaction per `--flush-interval-ms` tick), a snapshot after the log entries it covers, and
//! a chat catch-up (`since`) after the updates its sender sent before it, so its answer means
//! "everything you sent before this is stored". A chat message is stored by the writer and only
//! then acknowledged and broadcast, in the database's id order. A write that fails is retried,
//! never skipped, so nothing after it can claim to be stored before it is.
//!
//! Awaiting SQLite on the room task made every connection of the room wait for every chat
//! message and every catch-up, for up to SQLite's busy timeout when another writer held the
//! lock; appending on the room task cost p99 latency 24.3 ms against 6.0 ms in the background
//! at 9,600 deliveries/s (docs/benchmarks.md).

use std::time::Duration;

use bytes::Bytes;
use chatspace_crdt::codec::ChatRequest;
use chatspace_crdt::{encode_snapshot, SnapshotFormat, UncheckedSnapshot};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::chat::{self, ChatReplies};
use super::loading::load_room;
use crate::auth::CurrentUser;
use crate::bus::{Bus, Notice};
use crate::metrics::{
    timed, timed_blocking, LOG_APPEND_SECONDS, SNAPSHOT_CHECK_SECONDS, SNAPSHOT_WRITE_SECONDS,
};
use crate::store::{AuthoredUpdate, Store};

/// Snapshots are written in v2 (28% smaller than v1 on a 104,852-character editing trace) and
/// compressed with zstd (docs/benchmarks.md has the sizes); loading reads every format stored
/// before, each row marked with its own.
pub const SNAPSHOT_FORMAT: SnapshotFormat = SnapshotFormat::V2Zstd;

/// First wait before retrying a failed write; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(50);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);
/// Attempts a write gets once the server is shutting down, before it is given up (and logged).
const ATTEMPTS_AT_SHUTDOWN: u32 = 3;

/// What the room hands its writer.
enum Job {
    /// Log entries, numbered by the database in this order.
    Append { updates: Vec<AuthoredUpdate> },
    /// A snapshot covering every entry appended before it, which replaces them: of the live
    /// document (`Some`, encoded by the room and checked here), or rebuilt from the database
    /// (`None`, see [`Writer::covered_seq`]).
    Snapshot { data: Option<UncheckedSnapshot> },
    /// A chat request of `conn`'s user.
    Chat {
        conn: u64,
        author: CurrentUser,
        request: ChatRequest,
    },
    /// Answered once everything handed over before it is done.
    Barrier(oneshot::Sender<()>),
}

/// What the writer reports back to the room.
pub enum Written {
    /// The frames a chat request produced, for `conn` and for everyone else.
    Chat { conn: u64, replies: ChatReplies },
    /// Updates handed over (`bytes` of them) were stored as log entries `first..=last`.
    Appended { first: i64, last: i64, bytes: usize },
}

/// The room task's side of its persistence.
pub struct DocPersistence {
    /// The writer's queue. Unbounded: the room must never wait to hand over a write, and what
    /// waits here is what the room has already applied (or a chat request, one per message).
    jobs: mpsc::UnboundedSender<Job>,
    /// What the writer reports; the room delivers it.
    pub events: mpsc::UnboundedReceiver<Written>,
    /// Updates applied to the document and not handed to the writer yet, oldest first.
    pending: Vec<AuthoredUpdate>,
    /// Log entries since the last snapshot (handed over or pending).
    log_len: u64,
    /// Bytes of the updates applied and not stored yet (pending or with the writer).
    unstored_bytes: usize,
    /// `log_len` at which to compact next.
    compact_at: u64,
    compact_after: u64,
}

impl DocPersistence {
    /// Picks up where the loaded document ends (`covers`, see `LoadedRoom`; `log_len` entries
    /// after the snapshot) and starts the room's writer.
    pub fn start(
        target: Target,
        covers: i64,
        log_len: usize,
        compact_after: u64,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let (report, events) = mpsc::unbounded_channel();
        let writer = Writer {
            room_id: target.room_id,
            store: target.store,
            bus: target.bus,
            report,
            shutdown,
            covered_seq: covers,
            shared_log: false,
        };
        tasks.spawn(writer.run(queue).in_current_span());
        let compact_after = compact_after.max(1);
        let log_len = log_len as u64;
        Self {
            jobs,
            events,
            pending: Vec::new(),
            log_len,
            unstored_bytes: 0,
            compact_at: log_len.max(compact_after),
            compact_after,
        }
    }

    /// Queues an applied update for the next tick, with the user whose connection sent it.
    pub fn push(&mut self, update: Bytes, author_id: Option<i64>) {
        self.unstored_bytes += update.len();
        self.pending.push(AuthoredUpdate {
            data: update,
            author_id,
        });
        self.log_len += 1;
    }

    /// The writer stored `bytes` of the updates handed to it.
    pub fn stored(&mut self, bytes: usize) {
        self.unstored_bytes = self.unstored_bytes.saturating_sub(bytes);
    }

    /// Bytes of applied updates the database does not hold yet.
    pub fn unstored_bytes(&self) -> usize {
        self.unstored_bytes
    }

    /// True while applied updates wait for the next tick.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hands the pending updates to the writer as one append (one transaction).
    pub fn hand_over(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let updates = std::mem::take(&mut self.pending);
        self.send(Job::Append { updates });
    }

    /// Whether the log has grown enough to be compacted (or, with `force`, is not empty).
    pub fn compaction_due(&self, force: bool) -> bool {
        if force {
            self.log_len > 0
        } else {
            self.log_len >= self.compact_at
        }
    }

    /// Hands over a snapshot of the document as it is now, after the pending updates: it covers
    /// every update handed over so far. The writer checks it and stores it only if it loads back
    /// to the document (otherwise the log stays, and the next compaction is `compact_after`
    /// updates later). `None`: the writer rebuilds it from the database (a room whose log other
    /// nodes append to).
    pub fn snapshot(&mut self, data: Option<UncheckedSnapshot>) {
        self.hand_over();
        self.send(Job::Snapshot { data });
        self.log_len = 0;
        self.compact_at = self.compact_after;
    }

    /// A snapshot could not be made: try again after another `compact_after` updates rather
    /// than at every tick.
    pub fn postpone_compaction(&mut self) {
        self.compact_at = self.log_len + self.compact_after;
    }

    /// Hands a chat request to the writer. A catch-up goes after the pending updates, so that
    /// its answer covers everything its sender sent before it.
    pub fn chat(&mut self, conn: u64, author: CurrentUser, request: ChatRequest) {
        if matches!(request, ChatRequest::Since { .. }) {
            self.hand_over();
        }
        self.send(Job::Chat {
            conn,
            author,
            request,
        });
    }

    /// Hands over the pending updates and waits until the writer has done everything handed
    /// to it so far. Only for when the room has to wait anyway: a reload, an unload, a stop.
    pub async fn settle(&mut self) {
        let (done, wait) = oneshot::channel();
        self.barrier(done);
        let _ = wait.await;
    }

    /// Hands over the pending updates; `done` is answered once the writer has done everything
    /// handed to it so far.
    pub fn barrier(&mut self, done: oneshot::Sender<()>) {
        self.hand_over();
        self.send(Job::Barrier(done));
    }

    fn send(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            // The writer only stops once this side is dropped; this would be a bug.
            tracing::error!("the room's writer is gone; a write was dropped");
        }
    }
}

/// Where a room's writer writes: the room's rows in the store and, with other nodes, the room's
/// stream, where each update goes once it is stored.
pub struct Target {
    pub room_id: i64,
    pub store: Store,
    pub bus: Option<Bus>,
}

/// The writer task of one room.
struct Writer {
    room_id: i64,
    store: Store,
    bus: Option<Bus>,
    report: mpsc::UnboundedSender<Written>,
    shutdown: CancellationToken,
    /// The newest log entry the room's document holds with every entry before it: the last one
    /// loaded, moved on by this writer's appends while they follow on from it. A snapshot of the
    /// live document covers the log up to it. Once an append does not follow on (another node
    /// appends to this room's log), snapshots are rebuilt from the database instead, whose
    /// entries they then cover exactly.
    covered_seq: i64,
    /// Whether someone else appends to this room's log.
    shared_log: bool,
}

impl Writer {
    async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Job>) {
        let mut held = None;
        while let Some(job) = match held.take() {
            Some(job) => Some(job),
            None => queue.recv().await,
        } {
            match job {
                Job::Append { mut updates } => {
                    // Appends that queued up behind this one go in the same transaction.
                    while let Ok(next) = queue.try_recv() {
                        match next {
                            Job::Append { updates: more, .. } => updates.extend(more),
                            other => {
                                held = Some(other);
                                break;
                            }
                        }
                    }
                    let count = updates.len();
                    let (store, room_id) = (&self.store, self.room_id);
                    if let Some(last) = self
                        .retry("appending updates", || {
                            timed(LOG_APPEND_SECONDS, store.append_updates(room_id, &updates))
                        })
                        .await
                    {
                        let first = last + 1 - count as i64;
                        tracing::debug!(count, first, last, "updates stored");
                        if first == self.covered_seq + 1 {
                            self.covered_seq = last;
                        } else if !self.shared_log {
                            self.shared_log = true;
                            tracing::info!("another node appends to this room's log; snapshots are rebuilt from the database");
                        }
                        if let Some(bus) = &self.bus {
                            for (seq, update) in (first..).zip(&updates) {
                                let data = update.data.clone();
                                bus.publish(room_id, Notice::Update { seq, data });
                            }
                        }
                        let bytes = updates.iter().map(|u| u.data.len()).sum();
                        let _ = self.report.send(Written::Appended { first, last, bytes });
                    }
                }
                Job::Snapshot { data } => {
                    let data = match data {
                        Some(data) if !self.shared_log => {
                            let upto_seq = self.covered_seq;
                            checked(move || timed_blocking(SNAPSHOT_CHECK_SECONDS, || data.check()))
                                .await
                                .map(|data| (data, upto_seq))
                        }
                        _ => self.rebuild().await,
                    };
                    let Some((data, upto_seq)) = data else {
                        continue;
                    };
                    let (store, room_id) = (&self.store, self.room_id);
                    let format = SNAPSHOT_FORMAT.as_i64();
                    if self
                        .retry("saving a snapshot", || {
                            timed(
                                SNAPSHOT_WRITE_SECONDS,
                                store.save_snapshot(room_id, format, &data, upto_seq),
                            )
                        })
                        .await
                        .is_some()
                    {
                        tracing::info!(
                            bytes = data.len(),
                            upto_seq,
                            "update log compacted into a snapshot"
                        );
                    }
                }
                Job::Chat {
                    conn,
                    author,
                    request,
                } => {
                    let replies = chat::handle(&self.store, self.room_id, &author, request).await;
                    let _ = self.report.send(Written::Chat { conn, replies });
                }
                Job::Barrier(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    /// A snapshot rebuilt from the database and the last log entry it covers: exactly what is
    /// stored, whatever this node's document holds. `None` (logged) when it cannot be made now;
    /// the log is kept and the next compaction tries again.
    async fn rebuild(&self) -> Option<(Vec<u8>, i64)> {
        let loaded = match load_room(&self.store, self.room_id).await {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!(%error, "rebuilding the room from the database for a snapshot failed");
                return None;
            }
        };
        let upto_seq = loaded.covers;
        let doc = loaded.doc;
        checked(move || encode_snapshot(&doc, SNAPSHOT_FORMAT))
            .await
            .map(|data| (data, upto_seq))
    }

    /// Runs `write` until it succeeds, waiting longer after each failure; once the server is
    /// stopping, gives up after a few attempts. Returns what it returned, `None` when given up.
    async fn retry<T, F, Fut>(&self, what: &str, mut write: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = sqlx::Result<T>>,
    {
        let mut wait = FIRST_RETRY_WAIT;
        let mut attempts_at_shutdown = 0;
        loop {
            let error = match write().await {
                Ok(done) => return Some(done),
                Err(error) => error,
            };
            if self.shutdown.is_cancelled() {
                attempts_at_shutdown += 1;
                if attempts_at_shutdown >= ATTEMPTS_AT_SHUTDOWN {
                    tracing::error!(%error, "{what} failed at shutdown; giving up (clients still hold the updates)");
                    return None;
                }
            }
            tracing::error!(%error, retry_in = ?wait, "{what} failed; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY_WAIT);
        }
    }
}

/// The snapshot `make` returns (it encodes or checks one, on the blocking pool), or `None`,
/// logged, when it failed: the log is kept and the next compaction tries again.
async fn checked(
    make: impl FnOnce() -> Result<Vec<u8>, chatspace_crdt::SnapshotError> + Send + 'static,
) -> Option<Vec<u8>> {
    match tokio::task::spawn_blocking(make).await {
        Ok(Ok(data)) => Some(data),
        Ok(Err(error)) => {
            tracing::error!(%error, "the snapshot was not made; the log is kept");
            None
        }
        Err(error) => {
            tracing::error!(%error, "making a snapshot panicked; the log is kept");
            None
        }
    }
}

#[cfg(test)]
mod tests;

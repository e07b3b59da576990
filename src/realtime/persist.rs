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
//! at 9,600 deliveries/s (an earlier load run, in the git history of docs/benchmarks.md).

mod writer;

use bytes::Bytes;
use chatspace_crdt::codec::ChatRequest;
use chatspace_crdt::{SnapshotFormat, UncheckedSnapshot};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use self::writer::Writer;
use super::chat::ChatReplies;
use crate::auth::CurrentUser;
use crate::bus::Bus;
use crate::store::{AuthoredUpdate, Store};

/// Snapshots are written in v2 (28% smaller than v1 on a 104,852-character editing trace) and
/// compressed with zstd (docs/benchmarks.md has the sizes); loading reads every format stored
/// before, each row marked with its own.
pub const SNAPSHOT_FORMAT: SnapshotFormat = SnapshotFormat::V2Zstd;

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

#[cfg(test)]
mod tests;

//! A room's writer task: it performs what the room hands over one job at a time, in order,
//! retrying a failed write until it succeeds (or, once the server is stopping, a few times),
//! and reports back what the room must deliver.

use std::time::Duration;

use chatspace_crdt::encode_snapshot;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Job, Written, SNAPSHOT_FORMAT};
use crate::bus::{Bus, Notice};
use crate::metrics::{
    timed, timed_blocking, LOG_APPEND_SECONDS, SNAPSHOT_CHECK_SECONDS, SNAPSHOT_WRITE_SECONDS,
};
use crate::realtime::chat;
use crate::realtime::loading::load_room;
use crate::store::Store;

/// First wait before retrying a failed write; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(50);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);
/// Attempts a write gets once the server is shutting down, before it is given up (and logged).
const ATTEMPTS_AT_SHUTDOWN: u32 = 3;

/// The writer task of one room.
pub(super) struct Writer {
    pub(super) room_id: i64,
    pub(super) store: Store,
    pub(super) bus: Option<Bus>,
    pub(super) report: mpsc::UnboundedSender<Written>,
    pub(super) shutdown: CancellationToken,
    /// The newest log entry the room's document holds with every entry before it: the last one
    /// loaded, moved on by this writer's appends while they follow on from it. A snapshot of the
    /// live document covers the log up to it. Once an append does not follow on (another node
    /// appends to this room's log), snapshots are rebuilt from the database instead, whose
    /// entries they then cover exactly.
    pub(super) covered_seq: i64,
    /// Whether someone else appends to this room's log.
    pub(super) shared_log: bool,
}

impl Writer {
    pub(super) async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Job>) {
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

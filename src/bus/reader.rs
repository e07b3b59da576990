//! The reader: one task per node that reads the streams of the rooms live on this node, with one
//! blocking `XREAD` over all of them, and hands each entry another node wrote to its room.

use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;
use tokio_util::sync::CancellationToken;

use super::{
    backoff, connection, Bus, Notice, Remote, Topic, FIRST_RECONNECT_WAIT, RESPONSE_TIMEOUT,
};

/// How long one read waits for new entries. Adding a room interrupts it (`CLIENT UNBLOCK`).
const BLOCK: Duration = Duration::from_secs(5);
/// Most entries one read returns per stream.
const COUNT: usize = 512;

pub(super) async fn run(bus: Bus, shutdown: CancellationToken) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut wait = FIRST_RECONNECT_WAIT;
    let mut lost_redis = false;
    loop {
        let Some(connected) = conn.as_mut() else {
            match connect(&bus).await {
                Ok(fresh) => {
                    conn = Some(fresh);
                    wait = FIRST_RECONNECT_WAIT;
                    if std::mem::take(&mut lost_redis) {
                        tracing::info!(
                            "reconnected to Redis; live rooms catch up from the database"
                        );
                        bus.deliver_to_all(Remote::Reconnected);
                    }
                }
                Err(error) => {
                    lost(&bus, &mut lost_redis, &error, wait);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => return,
                    }
                    wait = backoff(wait);
                }
            }
            continue;
        };
        let (keys, ids) = bus.read_positions();
        if keys.is_empty() {
            tokio::select! {
                () = bus.inner.rooms_changed.notified() => {}
                () = shutdown.cancelled() => return,
            }
            continue;
        }
        let mut xread = redis::cmd("XREAD");
        xread
            .arg("COUNT")
            .arg(COUNT)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&keys)
            .arg(&ids);
        let read = xread.query_async::<Option<StreamReadReply>>(connected);
        let read = tokio::select! {
            read = read => read,
            () = shutdown.cancelled() => return,
        };
        match read {
            Ok(reply) => {
                bus.inner.reader_up.store(true, Ordering::Relaxed);
                if let Some(reply) = reply {
                    bus.deliver(reply);
                }
            }
            Err(error) => {
                conn = None;
                lost(&bus, &mut lost_redis, &error, wait);
            }
        }
    }
}

/// A connection for blocking reads, its id recorded so that it can be unblocked.
async fn connect(bus: &Bus) -> redis::RedisResult<MultiplexedConnection> {
    let mut conn = connection(&bus.inner.client, BLOCK + RESPONSE_TIMEOUT).await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut conn)
        .await?;
    *bus.inner
        .reader_client
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(id);
    Ok(conn)
}

fn lost(bus: &Bus, lost_redis: &mut bool, error: &redis::RedisError, wait: Duration) {
    if !*lost_redis {
        tracing::error!(%error, retry_in = ?wait, "lost the connection to Redis: other nodes' edits do not arrive until it is back");
    }
    *lost_redis = true;
    bus.inner.reader_up.store(false, Ordering::Relaxed);
    metrics::counter!(super::READ_ERRORS).increment(1);
}

impl Bus {
    /// The streams to read and the id after which to read each.
    fn read_positions(&self) -> (Vec<String>, Vec<String>) {
        let control = self.control_position();
        self.rooms()
            .iter()
            .map(|(room_id, sub)| (self.stream_key(Topic::Room(*room_id)), sub.last_id.clone()))
            .chain(control)
            .unzip()
    }

    /// Hands what other nodes wrote to the rooms, and moves each room's read position on.
    fn deliver(&self, reply: StreamReadReply) {
        let now = crate::clock::now_millis();
        let mut rooms = self.rooms();
        let mut control = self.control();
        for stream in reply.keys {
            let sub = if stream.key == self.stream_key(Topic::Control) {
                control.as_mut()
            } else {
                let room_id = self.room_of_key(&stream.key);
                // None: the room unloaded while the read was under way.
                room_id.and_then(|room_id| rooms.get_mut(&room_id))
            };
            let Some(sub) = sub else {
                continue;
            };
            for entry in stream.ids {
                sub.last_id.clone_from(&entry.id);
                let Some((node, notice)) = Notice::parse(entry.map) else {
                    tracing::warn!(
                        id = entry.id,
                        "skipping a bus entry this version does not read"
                    );
                    continue;
                };
                if node == self.inner.node {
                    continue;
                }
                if let Some(published) = entry_millis(&entry.id) {
                    let lag = (now - published).max(0) as f64 / 1000.0;
                    metrics::histogram!(super::LAG_SECONDS).record(lag);
                }
                if matches!(notice, Notice::Awareness(_)) {
                    self.watch(&node);
                }
                let _ = sub.to_room.send(Remote::Notice { from: node, notice });
            }
        }
    }

    /// Tells every live room `remote`.
    pub(super) fn deliver_to_all(&self, remote: Remote) {
        for sub in self.rooms().values() {
            let _ = sub.to_room.send(remote.clone());
        }
        if let Some(control) = self.control().as_ref() {
            let _ = control.to_room.send(remote);
        }
    }
}

/// The milliseconds part of a stream entry id (`1733390000000-0`).
fn entry_millis(id: &str) -> Option<i64> {
    id.split_once('-')?.0.parse().ok()
}

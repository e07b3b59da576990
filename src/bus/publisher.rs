//! The publisher: one task per node that appends what its rooms publish to their streams, in
//! the order they published it, many entries per round trip.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    backoff, connection, Bus, Notice, Topic, FIRST_RECONNECT_WAIT, RESPONSE_TIMEOUT,
    STREAM_MAX_LEN, STREAM_TTL,
};

/// Most entries sent in one pipeline.
const BATCH: usize = 512;

pub(super) async fn run(
    bus: Bus,
    mut queue: mpsc::UnboundedReceiver<(Topic, Notice)>,
    shutdown: CancellationToken,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut wait = FIRST_RECONNECT_WAIT;
    // No connection attempt before this (after a failure).
    let mut next_attempt = Instant::now();
    // Streams some of whose notices were lost. Once Redis is back, each gets a notice asking
    // the other nodes to catch up from the database (for the control stream: to check every
    // socket's session).
    let mut lossy: HashSet<Topic> = HashSet::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            item = queue.recv() => match item {
                Some(item) => batch.push(item),
                None => return,
            },
            () = tokio::time::sleep_until(next_attempt), if !lossy.is_empty() => {}
            () = shutdown.cancelled() => return,
        }
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        batch.extend(lossy.iter().map(|&topic| (topic, Notice::Refetch)));
        // Whether this round talks to Redis (a round that only waits for the next attempt must
        // not move that attempt further away, or steady traffic would put it off for ever).
        let mut tried = conn.is_some();
        if conn.is_none() && Instant::now() >= next_attempt {
            tried = true;
            match connection(&bus.inner.client, RESPONSE_TIMEOUT).await {
                Ok(fresh) => conn = Some(fresh),
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?wait, "cannot reach Redis to publish")
                }
            }
        }
        let sent = match conn.as_mut() {
            Some(connected) => pipeline(&bus, &batch).query_async::<()>(connected).await,
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "waiting to reconnect",
            ))),
        };
        match sent {
            Ok(()) => {
                bus.inner.publisher_up.store(true, Ordering::Relaxed);
                wait = FIRST_RECONNECT_WAIT;
                lossy.clear();
                batch.clear();
            }
            Err(error) => {
                if conn.take().is_some() {
                    tracing::warn!(%error, "publishing to Redis failed");
                }
                if tried {
                    next_attempt = Instant::now() + wait;
                    wait = backoff(wait);
                }
                give_up(&bus, &mut batch, &mut queue, &mut lossy);
            }
        }
    }
}

/// One pipeline appending every notice of `batch` to its room's stream (trimmed to about
/// [`STREAM_MAX_LEN`] entries) and keeping each stream for [`STREAM_TTL`] after its last write.
fn pipeline(bus: &Bus, batch: &[(Topic, Notice)]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    let mut touched = HashSet::new();
    for (topic, notice) in batch {
        let key = bus.stream_key(*topic);
        pipe.cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg(notice.fields(bus.node()))
            .ignore();
        if touched.insert(*topic) {
            pipe.cmd("PEXPIRE")
                .arg(&key)
                .arg(STREAM_TTL.as_millis() as u64)
                .ignore();
        }
    }
    pipe
}

/// Drops what could not be sent (and everything queued behind it while Redis is away) and
/// marks its rooms lossy. The other nodes catch up from the database once asked to.
fn give_up(
    bus: &Bus,
    batch: &mut Vec<(Topic, Notice)>,
    queue: &mut mpsc::UnboundedReceiver<(Topic, Notice)>,
    lossy: &mut HashSet<Topic>,
) {
    bus.inner.publisher_up.store(false, Ordering::Relaxed);
    let mut dropped = 0u64;
    for (topic, _) in batch.drain(..) {
        lossy.insert(topic);
        dropped += 1;
    }
    while let Ok((topic, _)) = queue.try_recv() {
        lossy.insert(topic);
        dropped += 1;
    }
    metrics::counter!(super::PUBLISH_DROPPED).increment(dropped);
}

//! Loading a room's document from the store: on the blocking pool (a large document takes tens
//! of milliseconds to rebuild, which must not hold up the async workers and every other room's
//! relay), and recovering when its update log no longer replays as a whole.
//!
//! A room must never become unloadable because of what a client once sent. When the log does
//! not replay, it is replayed entry by entry; the entries that fail are moved to the
//! `doc_quarantine` table with their sender, times and the reason (never deleted), the rest
//! loads, and the room is compacted into a snapshot at once so that its next load is clean.
//!
//! An entry that does not follow on from what its client has in the document waits for its
//! predecessor instead, while it is young: with several nodes appending to one log, the entry
//! it builds on may be another node's edit that is not stored yet. It stays in the log, and no
//! snapshot covers it until it loads (see [`LoadedRoom::covers`]). An entry still waiting after
//! [`WAIT_FOR_PREDECESSOR`] never gets its predecessor (nodes store within seconds) and is
//! quarantined.

use std::collections::HashSet;
use std::time::Duration;

use chatspace_crdt::{LoadError, Recovered, RoomDoc, SnapshotFormat};

use super::authorship::Owners;
use crate::clock::now_millis;
use crate::store::{Quarantined, Store, StoredDocument};

/// How long a log entry may wait for its predecessor before it is quarantined.
const WAIT_FOR_PREDECESSOR: Duration = Duration::from_secs(3600);

/// Why a room's document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(super) enum LoadFailure {
    /// The database did not answer.
    #[error("reading the stored document failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The snapshot does not load (the log never makes a load fail: see the module docs).
    #[error("the stored document cannot be decoded: {0}")]
    Unreadable(#[from] LoadError),
    /// The load on the blocking pool panicked.
    #[error("loading the document failed: {0}")]
    Crashed(#[from] tokio::task::JoinError),
}

/// A room's document as loaded, with what its persistence needs to know.
pub(super) struct LoadedRoom {
    pub doc: RoomDoc,
    /// The stored rows the document was built from (the log without quarantined entries).
    pub stored: StoredDocument,
    /// The log did not replay as a whole: compact the room into a snapshot now.
    pub compact_now: bool,
    /// The newest log entry the document holds with every entry before it: the last one, unless
    /// some entry waits for its predecessor; then the one before the first that waits. A
    /// snapshot of this document may replace the log up to here, and no further.
    pub covers: i64,
    /// Who owns each client id written under in the room.
    pub owners: Owners,
}

/// Reads the room's snapshot and log and rebuilds the document; quarantines the log entries
/// that do not replay. An error means the snapshot itself is unreadable (or the database is
/// unreachable): nothing is written then, the rows stay exactly as they are.
pub(super) async fn load_room(store: &Store, room_id: i64) -> Result<LoadedRoom, LoadFailure> {
    crate::metrics::timed(crate::metrics::DOC_LOAD_SECONDS, load(store, room_id)).await
}

/// [`load_room`], untimed.
async fn load(store: &Store, room_id: i64) -> Result<LoadedRoom, LoadFailure> {
    let stored = store.load_document(room_id).await?;
    let owners = store.client_owners(room_id).await?.into_iter().collect();
    let (recovered, mut stored) = tokio::task::spawn_blocking(move || {
        let recovered = rebuild(&stored);
        (recovered, stored)
    })
    .await?;
    let Recovered {
        doc,
        mut skipped,
        waiting,
        strict_replay_failed,
    } = recovered?;
    let (too_old, still_waiting) = by_age(&stored, waiting);
    skipped.extend(too_old);
    let covers = match still_waiting.first().and_then(LoadError::log_index) {
        Some(first) => {
            let covers = first
                .checked_sub(1)
                .and_then(|i| stored.seqs.get(i).copied())
                .unwrap_or_else(|| stored.snapshot.as_ref().map_or(0, |s| s.upto_seq));
            tracing::info!(
                waiting = still_waiting.len(),
                covers,
                "log entries wait for a predecessor another node has not stored yet"
            );
            covers
        }
        None => stored.last_seq,
    };
    if !skipped.is_empty() {
        let quarantined = quarantine_list(&stored, &skipped);
        for entry in &quarantined {
            tracing::error!(
                seq = entry.seq,
                reason = entry.reason,
                "an update log entry does not replay; it is quarantined and the room loads without it"
            );
        }
        metrics::counter!(crate::metrics::QUARANTINED).increment(quarantined.len() as u64);
        if let Err(error) = store.quarantine_updates(room_id, &quarantined).await {
            // The document is fine without them; the next load sets them aside again.
            tracing::error!(%error, "moving log entries to quarantine failed");
        }
        drop_entries(&mut stored, &skipped);
    }
    Ok(LoadedRoom {
        doc,
        stored,
        compact_now: strict_replay_failed,
        covers,
        owners,
    })
}

/// Splits the entries that wait for a predecessor into those waiting too long (or stored
/// before the time of storing was recorded), to quarantine, and the rest.
fn by_age(stored: &StoredDocument, waiting: Vec<LoadError>) -> (Vec<LoadError>, Vec<LoadError>) {
    let limit = now_millis() - WAIT_FOR_PREDECESSOR.as_millis() as i64;
    waiting.into_iter().partition(|error| {
        let stored_at = error
            .log_index()
            .and_then(|i| stored.stored_at.get(i).copied().flatten());
        stored_at.is_none_or(|at| at < limit)
    })
}

/// The document of `stored`: its snapshot, then every log entry that replays.
pub(crate) fn rebuild(stored: &StoredDocument) -> Result<Recovered, LoadError> {
    let snapshot = match &stored.snapshot {
        Some(s) => Some((
            s.data.as_slice(),
            SnapshotFormat::from_i64(s.format).map_err(|e| {
                LoadError::SnapshotDecode(chatspace_crdt::DecodeError::MalformedUpdate(
                    e.to_string(),
                ))
            })?,
        )),
        None => None,
    };
    RoomDoc::load_recovering(snapshot, &stored.updates)
}

/// The rows behind `skipped`, by sequence number, with the reason for each.
fn quarantine_list(stored: &StoredDocument, skipped: &[LoadError]) -> Vec<Quarantined> {
    skipped
        .iter()
        .filter_map(|error| {
            let seq = *stored.seqs.get(error.log_index()?)?;
            Some(Quarantined {
                seq,
                reason: error.to_string(),
            })
        })
        .collect()
}

/// Removes the skipped entries from `stored`, so that it describes what was loaded.
fn drop_entries(stored: &mut StoredDocument, skipped: &[LoadError]) {
    let skip: HashSet<usize> = skipped.iter().filter_map(LoadError::log_index).collect();
    let rows = std::mem::take(&mut stored.seqs)
        .into_iter()
        .zip(std::mem::take(&mut stored.updates))
        .zip(std::mem::take(&mut stored.stored_at));
    for (_, ((seq, update), stored_at)) in rows.enumerate().filter(|(i, _)| !skip.contains(i)) {
        stored.seqs.push(seq);
        stored.updates.push(update);
        stored.stored_at.push(stored_at);
    }
}

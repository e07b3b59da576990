//! Loading a room's document from the store: on the blocking pool (a large document takes tens
//! of milliseconds to rebuild, which must not hold up the async workers and every other room's
//! relay), and recovering when its update log no longer replays as a whole.
//!
//! A room must never become unloadable because of what a client once sent. When the log does
//! not replay, it is replayed entry by entry; the entries that fail are moved to the
//! `doc_quarantine` table with their sender, times and the reason (never deleted), the rest
//! loads, and the room is compacted into a snapshot at once so that its next load is clean.

use std::collections::HashSet;

use chatspace_crdt::{LoadError, Recovered, RoomDoc, SnapshotFormat};

use crate::store::{Quarantined, Store, StoredDocument};

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
    let (recovered, mut stored) = tokio::task::spawn_blocking(move || {
        let recovered = rebuild(&stored);
        (recovered, stored)
    })
    .await?;
    let Recovered {
        doc,
        skipped,
        strict_replay_failed,
    } = recovered?;
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
    })
}

/// The document of `stored`: its snapshot, then every log entry that replays.
pub(super) fn rebuild(stored: &StoredDocument) -> Result<Recovered, LoadError> {
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
        .zip(std::mem::take(&mut stored.updates));
    (stored.seqs, stored.updates) = rows
        .enumerate()
        .filter(|(index, _)| !skip.contains(index))
        .map(|(_, row)| row)
        .unzip();
}

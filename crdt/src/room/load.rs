//! Rebuilding a room from storage: a snapshot, then the update log in order.
//!
//! [`RoomDoc::load`] is strict: any entry that does not decode or apply is an error.
//! [`RoomDoc::load_recovering`] is what the server uses: a room must never become unloadable
//! because of what a client once sent, so when the log does not replay as a whole it is
//! replayed entry by entry, and the entries that fail are set aside (the caller quarantines
//! them) while everything else loads.

use super::{ApplyError, Ingested, RoomDoc, MAX_UPDATES_PER_TXN};
use crate::codec::{self, preflight, DecodeError, IncomingUpdate};
use crate::snapshot::{self, SnapshotFormat};
use bytes::Bytes;
use thiserror::Error;
use yrs::updates::decoder::Decode;
use yrs::Update;

/// Why stored room data could not be loaded (the server closes sockets with 4410).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The snapshot does not decode.
    #[error("snapshot does not decode: {0}")]
    SnapshotDecode(DecodeError),
    /// The snapshot decodes but does not apply.
    #[error("snapshot does not apply: {0}")]
    SnapshotApply(ApplyError),
    /// An entry of the update log does not decode.
    #[error("update log entry {index} does not decode: {source}")]
    LogDecode {
        /// Position of the entry in the log (0-based).
        index: usize,
        /// The decode error.
        source: DecodeError,
    },
    /// An entry of the update log does not apply.
    #[error("update log entry {index} does not apply: {source}")]
    LogApply {
        /// Position of the entry in the log (0-based).
        index: usize,
        /// The apply error.
        source: ApplyError,
    },
}

/// A room rebuilt by [`RoomDoc::load_recovering`].
#[derive(Debug)]
pub struct Recovered {
    /// The document: the snapshot and every log entry that replays.
    pub doc: RoomDoc,
    /// The log entries left out, by position in the log (0-based), with why; in log order.
    pub skipped: Vec<LoadError>,
    /// The log entries that do not follow on from what their client has in the document, even
    /// after the rest of the log: they wait for a predecessor the log does not hold (yet), and
    /// are not in the document. With several nodes appending to one log, the predecessor may
    /// be an edit another node has not stored yet; in a log one node wrote, it never comes.
    /// The caller decides which to keep waiting. In log order.
    pub waiting: Vec<LoadError>,
    /// The log did not replay as a whole (even when no entry had to be left out: some fail
    /// only in one transaction with others). Compact the document so the next load is clean.
    pub strict_replay_failed: bool,
}

impl LoadError {
    /// The log position of a failed log entry; `None` for snapshot errors.
    pub fn log_index(&self) -> Option<usize> {
        match self {
            LoadError::LogDecode { index, .. } | LoadError::LogApply { index, .. } => Some(*index),
            LoadError::SnapshotDecode(_) | LoadError::SnapshotApply(_) => None,
        }
    }
}

impl RoomDoc {
    /// Rebuilds a room from storage: an optional snapshot, then the update log in order
    /// (applied [`MAX_UPDATES_PER_TXN`] per transaction). Any entry that does not decode or
    /// apply is an error, never a panic.
    pub fn load<L, B>(snapshot: Option<(&[u8], SnapshotFormat)>, log: L) -> Result<Self, LoadError>
    where
        L: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let log: Vec<B> = log.into_iter().collect();
        let entries = log.iter().map(AsRef::as_ref).enumerate();
        replay(snapshot, entries, MAX_UPDATES_PER_TXN)
    }

    /// Like [`RoomDoc::load`], but a log entry that does not decode or apply is left out
    /// instead of failing the load. Only a snapshot that does not load is an error: the server
    /// wrote it from a document it had verified, so that is damage no replay can mend.
    ///
    /// Every log entry is held to the rules a client's update is held to now (the room's schema
    /// and its clocks, see [`crate::codec::preflight`]) and applied as the room applies client
    /// updates: a log written before those rules may hold an update that would make yrs read
    /// freed memory (docs/reliability.md), and such an entry is left out rather than applied.
    /// An entry that fails to apply poisons the document, which is rebuilt from the snapshot
    /// and the entries kept so far before the rest goes on, one entry per transaction when the
    /// failure named no entry. That costs a rebuild per bad entry, which is fine for what should
    /// never happen twice in a room's life: the server compacts a recovered room into a snapshot
    /// at once.
    pub fn load_recovering<L, B>(
        snapshot: Option<(&[u8], SnapshotFormat)>,
        log: L,
    ) -> Result<Recovered, LoadError>
    where
        L: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut skipped = Vec::new();
        let mut waiting = Vec::new();
        let mut pending = Vec::new();
        let mut entries = Vec::new();
        for (index, entry) in log.into_iter().enumerate() {
            let bytes = Bytes::copy_from_slice(entry.as_ref());
            match IncomingUpdate::check_v1(bytes.clone()) {
                Ok(update) => pending.push((index, update)),
                Err(source) => skipped.push(LoadError::LogDecode { index, source }),
            }
            entries.push(bytes);
        }
        let mut doc = replay(snapshot, [], 1)?;
        let mut kept: Vec<usize> = Vec::with_capacity(pending.len());
        let mut out = Ingested::with_capacity(pending.len());
        let mut per_txn = MAX_UPDATES_PER_TXN;
        let mut failed = false;
        // Entries that do not follow on from what their client has in the document yet. With
        // several nodes appending to one log, the numbers follow the order of the commits, not
        // always the order in which the edits were made: an entry may come before one it builds
        // on. Such entries wait for the rest of the log and are tried again while that helps.
        let mut deferred: Vec<(usize, DecodeError)> = Vec::new();
        loop {
            let result = doc.apply_updates_into(pending.drain(..), per_txn, &mut out);
            let progress = !out.applied.is_empty();
            kept.extend(out.applied.drain(..).map(|applied| applied.tag));
            for refused in out.refused.drain(..) {
                match refused.error {
                    error @ DecodeError::NotFollowingOn { .. } => {
                        deferred.push((refused.tag, error));
                    }
                    source => skipped.push(LoadError::LogDecode {
                        index: refused.tag,
                        source,
                    }),
                }
            }
            let Err(failure) = result else {
                if deferred.is_empty() {
                    break;
                }
                if !progress {
                    // Nothing applied since they were put aside: the rest of the log cannot
                    // help them.
                    waiting.extend(
                        deferred
                            .drain(..)
                            .map(|(index, source)| LoadError::LogDecode { index, source }),
                    );
                    break;
                }
                pending = deferred
                    .drain(..)
                    .filter_map(|(index, _)| {
                        let raw = entries[index].clone();
                        IncomingUpdate::check_v1(raw).ok().map(|u| (index, u))
                    })
                    .collect();
                continue;
            };
            failed = true;
            match failure.culprit {
                Some(index) => skipped.push(LoadError::LogApply {
                    index,
                    source: failure.error,
                }),
                None => per_txn = 1,
            }
            // The kept entries passed these rules in this order before: replaying them is safe.
            let kept_entries = kept.iter().map(|&i| (i, &entries[i][..]));
            doc = replay(snapshot, kept_entries, 1)?;
            pending = failure
                .retry
                .into_iter()
                .filter_map(|(index, raw)| IncomingUpdate::check_v1(raw).ok().map(|u| (index, u)))
                .collect();
        }
        skipped.sort_by_key(|error| error.log_index());
        waiting.sort_by_key(|error| error.log_index());
        Ok(Recovered {
            doc,
            strict_replay_failed: failed || !skipped.is_empty(),
            skipped,
            waiting,
        })
    }
}

/// A fresh document with `snapshot` and then `entries` (each with its log position).
fn replay<'a>(
    snapshot: Option<(&[u8], SnapshotFormat)>,
    entries: impl IntoIterator<Item = (usize, &'a [u8])>,
    per_txn: usize,
) -> Result<RoomDoc, LoadError> {
    let mut room = RoomDoc::new();
    if let Some((bytes, format)) = snapshot {
        let update = decode_stored(bytes, format, true).map_err(LoadError::SnapshotDecode)?;
        room.integrate([update], &mut 0, None)
            .map_err(LoadError::SnapshotApply)?;
    }
    replay_into(&mut room, entries, per_txn)?;
    // What a client's next update must follow on from (see `RoomDoc::apply_updates`).
    room.clocks = room.state_vector();
    Ok(room)
}

/// Applies log `entries` to `room`, `per_txn` per transaction.
fn replay_into<'a>(
    room: &mut RoomDoc,
    entries: impl IntoIterator<Item = (usize, &'a [u8])>,
    per_txn: usize,
) -> Result<(), LoadError> {
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let mut chunk = Vec::with_capacity(per_txn);
        let mut indices = Vec::with_capacity(per_txn);
        for (index, entry) in entries.by_ref().take(per_txn.max(1)) {
            let update = decode_stored(entry, SnapshotFormat::V1, false)
                .map_err(|source| LoadError::LogDecode { index, source })?;
            chunk.push(update);
            indices.push(index);
        }
        let mut done = 0;
        room.integrate(chunk, &mut done, None)
            .map_err(|source| LoadError::LogApply {
                // A panicking commit names no entry; report the last of its transaction.
                index: indices
                    .get(done)
                    .or(indices.last())
                    .copied()
                    .unwrap_or_default(),
                source,
            })?;
    }
    Ok(())
}

/// Decodes stored bytes: a snapshot in any format (decompressed first when it is), or a v1
/// log entry. A snapshot (we wrote it) must use all of its bytes; a log entry holds a client's
/// bytes as sent, and Yjs ignores bytes after an update, so it may not. Both are held to the
/// structural rules only: a room stored before the room's schema existed keeps loading.
fn decode_stored(bytes: &[u8], format: SnapshotFormat, exact: bool) -> Result<Update, DecodeError> {
    match format {
        SnapshotFormat::V1 => {
            let len = preflight::update_v1_len(bytes)?;
            if exact && len != bytes.len() {
                return Err(DecodeError::TrailingBytes(bytes.len() - len));
            }
            codec::decode_update(bytes, Update::decode_v1)
        }
        // No structural pre-check exists for v2; these bytes were written by this server.
        SnapshotFormat::V2 => codec::decode_update(bytes, Update::decode_v2),
        SnapshotFormat::V2Zstd => {
            codec::decode_update(&snapshot::decompress(bytes)?, Update::decode_v2)
        }
    }
}

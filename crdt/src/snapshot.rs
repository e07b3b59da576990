//! Snapshots: the whole room document as one update, stored next to the update log.
//!
//! A snapshot is always encoded from a live document (`encode_state_as_update_*`), never by
//! merging log entries with `merge_updates_v1`: merging a 260k-update log at once took 316 s
//! on a 2-core machine, against milliseconds to encode the document that already holds it. The default format is v2 (28% smaller on the reference trace); loading takes either
//! ([`crate::RoomDoc::load`]), and the log itself always holds v1 updates as clients sent them.

use crate::room::{EncodeError, LoadError, RoomDoc};
use thiserror::Error;
use yrs::{ReadTxn, StateVector};

/// Encoding of a stored snapshot; the server stores it as an integer ([`Self::as_i64`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SnapshotFormat {
    /// Yjs update encoding v1 (what the wire uses).
    V1,
    /// Yjs update encoding v2 (smaller; the default for snapshots).
    #[default]
    V2,
}

impl SnapshotFormat {
    /// The integer stored in the database: 1 or 2.
    pub fn as_i64(self) -> i64 {
        match self {
            SnapshotFormat::V1 => 1,
            SnapshotFormat::V2 => 2,
        }
    }

    /// Parses the stored integer.
    pub fn from_i64(value: i64) -> Result<Self, SnapshotError> {
        match value {
            1 => Ok(SnapshotFormat::V1),
            2 => Ok(SnapshotFormat::V2),
            other => Err(SnapshotError::UnknownFormat(other)),
        }
    }
}

impl TryFrom<i64> for SnapshotFormat {
    type Error = SnapshotError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::from_i64(value)
    }
}

/// Why a snapshot could not be produced.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// A stored format number other than 1 or 2.
    #[error("unknown snapshot format {0}")]
    UnknownFormat(i64),
    /// The live document could not be encoded (poisoned, or yrs panicked).
    #[error("cannot encode the document: {0}")]
    Encode(#[from] EncodeError),
    /// The stored rows to compact could not be loaded.
    #[error("cannot load the stored room: {0}")]
    Load(#[from] LoadError),
    /// The encoded snapshot does not load back to the live document. yrs 0.28 cannot always
    /// re-encode documents that malformed updates went into (found by fuzzing); storing such a
    /// snapshot would change or lose the room on the next load. Keep the update log instead:
    /// replaying it does reproduce the live document.
    #[error("snapshot does not reproduce the live document: {0}")]
    NotFaithful(String),
}

/// Encodes the live document as a snapshot, and checks it: the snapshot is loaded into a
/// fresh document that must have the same text, state vector and pending state. The check
/// costs one cold load (milliseconds for a 100k-character text) and only runs at compaction,
/// which is rare. Refuses a poisoned document, whose contents are not the room's.
pub fn encode_snapshot(room: &RoomDoc, format: SnapshotFormat) -> Result<Vec<u8>, SnapshotError> {
    let empty = StateVector::default();
    let bytes = match format {
        SnapshotFormat::V1 => room.encode_with(|txn| txn.encode_state_as_update_v1(&empty)),
        SnapshotFormat::V2 => room.encode_with(|txn| txn.encode_state_as_update_v2(&empty)),
    }?;
    let loaded = RoomDoc::load(Some((&bytes, format)), std::iter::empty::<&[u8]>())
        .map_err(|e| SnapshotError::NotFaithful(e.to_string()))?;
    if loaded.state_vector() != room.state_vector() {
        return Err(SnapshotError::NotFaithful("state vector differs".into()));
    }
    if loaded.has_missing_updates() != room.has_missing_updates() {
        return Err(SnapshotError::NotFaithful("pending updates differ".into()));
    }
    if loaded.text() != room.text() {
        return Err(SnapshotError::NotFaithful("text differs".into()));
    }
    Ok(bytes)
}

/// Offline compaction of a room that is not live: loads the stored snapshot and log into a
/// document and encodes it again as one snapshot in `format`. The caller replaces the
/// snapshot and deletes the compacted log rows in one transaction.
pub fn compact<L, B>(
    snapshot: Option<(&[u8], SnapshotFormat)>,
    log: L,
    format: SnapshotFormat,
) -> Result<Vec<u8>, SnapshotError>
where
    L: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    let room = RoomDoc::load(snapshot, log)?;
    encode_snapshot(&room, format)
}

//! Snapshots: the whole room document as one update, stored next to the update log.
//!
//! A snapshot is always encoded from a live document (`encode_state_as_update_*`), never by
//! merging log entries with `merge_updates_v1`: merging a 260k-update log at once took 316 s
//! on a 2-core machine, against milliseconds to encode the document that already holds it.
//! The default format is v2 compressed with zstd ([`SnapshotFormat::V2Zstd`]); loading takes
//! every format ever stored ([`crate::RoomDoc::load`]), and the log itself always holds v1
//! updates as clients sent them.
//!
//! Making a snapshot has two halves: encoding, which needs the live document
//! ([`RoomDoc::encode_unchecked_snapshot`]), and checking it by loading it into a fresh
//! document, then compressing it ([`UncheckedSnapshot::check`]), which needs only the bytes and
//! what the live document held. The server runs the second half in the room's writer, off the
//! room's thread: the check costs a cold load, several times the encode.

mod check;
mod compression;

pub use check::UncheckedSnapshot;
pub use compression::{MAX_SNAPSHOT_BYTES, ZSTD_LEVEL};

pub(crate) use compression::decompress;

use crate::room::{EncodeError, LoadError, RoomDoc};
use thiserror::Error;

/// Encoding of a stored snapshot; the server stores it as an integer ([`Self::as_i64`]), the
/// marker that tells how to read the row's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SnapshotFormat {
    /// Yjs update encoding v1 (what the wire uses).
    V1,
    /// Yjs update encoding v2, uncompressed (what the server stored before compression).
    V2,
    /// Yjs update encoding v2 in one zstd frame that records its decompressed size (the
    /// default: 0.43x the bytes of plain v2 on the reference trace, see docs/benchmarks.md).
    #[default]
    V2Zstd,
}

impl SnapshotFormat {
    /// The integer stored in the database: 1, 2 or 3.
    pub fn as_i64(self) -> i64 {
        match self {
            SnapshotFormat::V1 => 1,
            SnapshotFormat::V2 => 2,
            SnapshotFormat::V2Zstd => 3,
        }
    }

    /// Parses the stored integer.
    pub fn from_i64(value: i64) -> Result<Self, SnapshotError> {
        match value {
            1 => Ok(SnapshotFormat::V1),
            2 => Ok(SnapshotFormat::V2),
            3 => Ok(SnapshotFormat::V2Zstd),
            other => Err(SnapshotError::UnknownFormat(other)),
        }
    }

    /// Whether the update inside is encoded with Yjs's v2 encoding.
    pub(crate) fn is_v2(self) -> bool {
        !matches!(self, SnapshotFormat::V1)
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
    /// A stored format number other than 1, 2 or 3.
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
    /// zstd could not compress the snapshot.
    #[error("cannot compress the snapshot: {0}")]
    Compress(String),
}

/// Encodes the live document as a snapshot in `format` and checks it (see
/// [`UncheckedSnapshot::check`]): both halves on the caller's thread. Refuses a poisoned
/// document, whose contents are not the room's.
pub fn encode_snapshot(room: &RoomDoc, format: SnapshotFormat) -> Result<Vec<u8>, SnapshotError> {
    room.encode_unchecked_snapshot(format)?.check()
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

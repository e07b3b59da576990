//! The two halves of making a snapshot: encoding the live document, then checking that the
//! encoding loads back to it and compressing it, which needs only owned data and can run on
//! another thread while the room goes on.

use super::{compression, SnapshotError, SnapshotFormat};
use crate::room::RoomDoc;
use yrs::{ReadTxn, StateVector};

/// A snapshot encoded from the live document and not checked yet, with what the document held
/// when it was encoded. It owns everything it needs (it is `Send`): the server hands it to the
/// room's writer, which checks it off the room's thread before storing it.
#[derive(Debug, Clone)]
pub struct UncheckedSnapshot {
    format: SnapshotFormat,
    /// The document as one v1 or v2 update, uncompressed.
    encoded: Vec<u8>,
    text: String,
    state_vector: StateVector,
    has_missing_updates: bool,
}

impl RoomDoc {
    /// Encodes the live document for a snapshot in `format` (not compressed yet) and notes what
    /// the snapshot must load back to: the text, the state vector and whether updates wait for
    /// predecessors. Refuses a poisoned document, whose contents are not the room's.
    pub fn encode_unchecked_snapshot(
        &self,
        format: SnapshotFormat,
    ) -> Result<UncheckedSnapshot, SnapshotError> {
        let empty = StateVector::default();
        let encoded = if format.is_v2() {
            self.encode_with(|txn| txn.encode_state_as_update_v2(&empty))
        } else {
            self.encode_with(|txn| txn.encode_state_as_update_v1(&empty))
        }?;
        Ok(UncheckedSnapshot {
            format,
            encoded,
            text: self.text(),
            state_vector: self.state_vector(),
            has_missing_updates: self.has_missing_updates(),
        })
    }
}

impl UncheckedSnapshot {
    /// The format [`UncheckedSnapshot::check`] returns the bytes in (store it with them).
    pub fn format(&self) -> SnapshotFormat {
        self.format
    }

    /// The bytes to store: the encoding is loaded into a fresh document that must have the same
    /// text, state vector and pending state as the live document had (a snapshot that would
    /// change the room is [`SnapshotError::NotFaithful`] and must not be stored), then
    /// compressed when the format says so. Costs one cold load of the uncompressed encoding
    /// (milliseconds for a 100k-character text) plus the compression.
    pub fn check(self) -> Result<Vec<u8>, SnapshotError> {
        let plain = if self.format.is_v2() {
            SnapshotFormat::V2
        } else {
            SnapshotFormat::V1
        };
        let loaded = RoomDoc::load(Some((&self.encoded, plain)), std::iter::empty::<&[u8]>())
            .map_err(|e| SnapshotError::NotFaithful(e.to_string()))?;
        if loaded.state_vector() != self.state_vector {
            return Err(SnapshotError::NotFaithful("state vector differs".into()));
        }
        if loaded.has_missing_updates() != self.has_missing_updates {
            return Err(SnapshotError::NotFaithful("pending updates differ".into()));
        }
        if loaded.text() != self.text {
            return Err(SnapshotError::NotFaithful("text differs".into()));
        }
        match self.format {
            SnapshotFormat::V2Zstd => compression::compress(&self.encoded),
            SnapshotFormat::V1 | SnapshotFormat::V2 => Ok(self.encoded),
        }
    }
}

//! History: what changed between two texts, and the edits that turn a room's text into an
//! earlier one.
//!
//! Restoring a version does not replace the document: that would throw away what others typed
//! meanwhile and make every client reload. It applies, as one ordinary update, the deletions and
//! insertions that turn the current text into the old one, made by a client id of its own. The
//! update merges with concurrent edits like any other, and restoring the text saved just before
//! undoes it.

use std::time::Duration;

use similar::{Algorithm, ChangeTag, TextDiff, TextDiffConfig};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, Doc, GetString, OffsetKind, Options, ReadTxn, Text, Transact, Update};

use crate::guard;
use crate::room::TEXT_NAME;

/// How long a diff may search for the smallest set of changes before it settles for a coarser
/// one (still correct: it turns the old text into the new one).
const DIFF_DEADLINE: Duration = Duration::from_secs(1);

/// Why a state could not be read or edited.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HistoryError {
    #[error("the stored state does not decode: {0}")]
    Undecodable(String),
    #[error("yrs failed on the stored state: {0}")]
    Failed(String),
    #[error("the client id is already in the document")]
    ClientTaken,
}

/// Every diff here: Myers, settling for a coarser answer after [`DIFF_DEADLINE`].
fn differ() -> TextDiffConfig {
    let mut config = TextDiff::configure();
    config.algorithm(Algorithm::Myers).timeout(DIFF_DEADLINE);
    config
}

/// One run of a difference between two texts, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// In both texts.
    Same(String),
    /// Only in the new text.
    Inserted(String),
    /// Only in the old text.
    Deleted(String),
}

/// The differences between `old` and `new`, word by word (what a reader compares), as runs:
/// neighbours of one kind are merged.
pub fn changes(old: &str, new: &str) -> Vec<Change> {
    let diff = differ().diff_words(old, new);
    let mut runs: Vec<Change> = Vec::new();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match (runs.last_mut(), change.tag()) {
            (Some(Change::Same(run)), ChangeTag::Equal)
            | (Some(Change::Inserted(run)), ChangeTag::Insert)
            | (Some(Change::Deleted(run)), ChangeTag::Delete) => run.push_str(text),
            (_, ChangeTag::Equal) => runs.push(Change::Same(text.to_owned())),
            (_, ChangeTag::Insert) => runs.push(Change::Inserted(text.to_owned())),
            (_, ChangeTag::Delete) => runs.push(Change::Deleted(text.to_owned())),
        }
    }
    runs
}

/// One operation of [`edit_ops`], in UTF-16 code units (the unit of JavaScript strings).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EditOp {
    /// Keep this many units.
    Retain(usize),
    /// Insert this text.
    Insert(String),
    /// Delete this many units.
    Delete(usize),
}

/// The operations that turn `old` into `new`, character by character: what a page replays to
/// step from one text to the next.
pub fn edit_ops(old: &str, new: &str) -> Vec<EditOp> {
    let diff = differ().diff_chars(old, new);
    let mut ops: Vec<EditOp> = Vec::new();
    for change in diff.iter_all_changes() {
        let value = change.value();
        let units = value.encode_utf16().count();
        match (ops.last_mut(), change.tag()) {
            (Some(EditOp::Retain(n)), ChangeTag::Equal)
            | (Some(EditOp::Delete(n)), ChangeTag::Delete) => {
                *n += units;
            }
            (Some(EditOp::Insert(text)), ChangeTag::Insert) => text.push_str(value),
            (_, ChangeTag::Equal) => ops.push(EditOp::Retain(units)),
            (_, ChangeTag::Delete) => ops.push(EditOp::Delete(units)),
            (_, ChangeTag::Insert) => ops.push(EditOp::Insert(value.to_owned())),
        }
    }
    if let Some(EditOp::Retain(_)) = ops.last() {
        ops.pop();
    }
    ops
}

/// The text of a document held as one v1 update (a snapshot or a version's state).
pub fn text_of(state: &[u8]) -> Result<String, HistoryError> {
    Ok(text_in(&load(state, ClientID::new(0))?))
}

fn text_in(doc: &Doc) -> String {
    let txn = doc.transact();
    txn.get_text(TEXT_NAME)
        .map(|text| text.get_string(&txn))
        .unwrap_or_default()
}

/// The update, made by `client`, that turns the text of `state` (a whole document as one v1
/// update) into `target`; `None` when it already is. `client` must be new to the document (a
/// fresh random id), as a joining Yjs client's is.
pub fn edits_to(
    state: &[u8],
    target: &str,
    client: ClientID,
) -> Result<Option<Vec<u8>>, HistoryError> {
    let doc = load(state, client)?;
    if doc.transact().state_vector().contains_client(&client) {
        return Err(HistoryError::ClientTaken);
    }
    let current = text_in(&doc);
    if current == target {
        return Ok(None);
    }
    let diff = differ().diff_chars(current.as_str(), target);
    guard::catch(|| {
        let text = doc.get_or_insert_text(TEXT_NAME);
        let mut txn = doc.transact_mut();
        // Byte offsets (the document's offset kind) into the text as edited so far.
        let mut at = 0u32;
        for op in diff.ops() {
            for change in diff.iter_changes(op) {
                let value = change.value();
                let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
                match change.tag() {
                    ChangeTag::Equal => at += len,
                    ChangeTag::Delete => text.remove_range(&mut txn, at, len),
                    ChangeTag::Insert => {
                        text.insert(&mut txn, at, value);
                        at += len;
                    }
                }
            }
        }
        // Committed first (as yrs's update observers do), so that the delete set is final.
        txn.commit();
        txn.encode_update_v1()
    })
    .map(Some)
    .map_err(HistoryError::Failed)
}

fn load(state: &[u8], client: ClientID) -> Result<Doc, HistoryError> {
    let update = Update::decode_v1(state).map_err(|e| HistoryError::Undecodable(e.to_string()))?;
    let doc = Doc::with_options(Options {
        client_id: client,
        offset_kind: OffsetKind::Bytes,
        ..Options::default()
    });
    guard::catch(|| doc.transact_mut().apply_update(update))
        .map_err(HistoryError::Failed)?
        .map_err(|e| HistoryError::Failed(e.to_string()))?;
    Ok(doc)
}

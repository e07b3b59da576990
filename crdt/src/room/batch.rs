//! Integrating client updates into the room document, several per yrs transaction, with
//! panics contained and failures reported precisely enough for the server to recover.

use super::{RoomDoc, MAX_UPDATES_PER_TXN};
use crate::codec::{update_frame, IncomingUpdate};
use crate::guard;
use bytes::Bytes;
use std::mem::ManuallyDrop;
use thiserror::Error;
use yrs::{Transact, Update};

/// Why an update was not integrated.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// The document was already poisoned; nothing was attempted. Reload the room.
    #[error("room document is poisoned and must be reloaded")]
    Poisoned,
    /// yrs refused the update. It may have been partly integrated, so the document is now
    /// poisoned; the sender gets close code 4400.
    #[error("update does not apply: {0}")]
    Rejected(String),
    /// yrs panicked while integrating. The document is now poisoned; the sender gets 4400.
    #[error("yrs panicked while applying an update: {0}")]
    Panicked(String),
}

/// An update that is now part of the document: store `raw` in the log and send `frame` to the
/// other connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Position of the update in the batch that was passed in (0 for a single update).
    pub index: usize,
    /// The v1 bytes as the client sent them (or as [`crate::codec::coalesce_typing`] merged
    /// several of them).
    pub raw: Bytes,
    /// [`crate::codec::update_frame`] of `raw`: the client's own frame when it already was
    /// exactly that, so relaying copies nothing.
    pub frame: Bytes,
}

/// How a batch ended when one update failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// Position of the update that failed (close its connection with 4400), or `None` when it
    /// is unknown: the document was already poisoned, or yrs panicked while committing a
    /// transaction of several updates. In the latter case apply `retry` one update per call
    /// after the reload, so a repeat failure names its culprit.
    pub culprit: Option<usize>,
    /// What went wrong; the document is poisoned in every case.
    pub error: ApplyError,
    /// Updates of the batch that are not in the document (all but `applied` and `culprit`),
    /// with their positions: reload the room, decode these again and apply them.
    pub retry: Vec<(usize, Bytes)>,
}

/// Result of [`RoomDoc::apply_updates`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Updates integrated in transactions that committed, in input order.
    pub applied: Vec<Applied>,
    /// Set when an update failed; the rest of the batch was not applied.
    pub failure: Option<BatchFailure>,
}

impl RoomDoc {
    /// Integrates client updates in input order, [`MAX_UPDATES_PER_TXN`] per transaction.
    /// Stops at the first failure; see [`BatchFailure`] for what the server does then.
    pub fn apply_updates(
        &mut self,
        updates: impl IntoIterator<Item = IncomingUpdate>,
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut rest = updates.into_iter().enumerate();
        loop {
            // Sized by what is left, not by the maximum: a busy room calls this once per
            // update, and a large allocation per call costs more than the bookkeeping.
            let capacity = rest.size_hint().0.clamp(1, MAX_UPDATES_PER_TXN);
            let mut chunk = Vec::with_capacity(capacity);
            for (index, update) in rest.by_ref().take(MAX_UPDATES_PER_TXN) {
                let (raw, frame, update) = update.into_parts();
                chunk.push((index, raw, frame, Some(update)));
            }
            if chunk.is_empty() {
                return outcome;
            }
            let mut done = 0;
            let decoded = chunk.iter_mut().filter_map(|(.., update)| update.take());
            match self.integrate(decoded, &mut done) {
                Ok(()) => {
                    outcome
                        .applied
                        .extend(chunk.into_iter().map(|(index, raw, frame, _)| Applied {
                            index,
                            frame: frame.unwrap_or_else(|| update_frame(&raw).into()),
                            raw,
                        }))
                }
                Err(error) => {
                    // A failed transaction leaves nothing usable behind (the document is
                    // swapped out), so every other update of this chunk is retried.
                    let culprit = match error {
                        ApplyError::Poisoned => None,
                        _ => chunk.get(done).map(|(index, ..)| *index),
                    };
                    let retry = chunk
                        .into_iter()
                        .filter(|(index, ..)| Some(*index) != culprit)
                        .map(|(index, raw, ..)| (index, raw))
                        .chain(rest.map(|(index, update)| (index, update.into_raw())))
                        .collect();
                    outcome.failure = Some(BatchFailure {
                        culprit,
                        error,
                        retry,
                    });
                    return outcome;
                }
            }
        }
    }

    /// Applies `updates` in one transaction. `done` counts the updates that went through
    /// `apply_update` without error, so after a failure it is the position of the culprit
    /// (equal to `updates.len()` when the commit itself panicked).
    pub(crate) fn integrate(
        &mut self,
        updates: impl IntoIterator<Item = Update>,
        done: &mut usize,
    ) -> Result<(), ApplyError> {
        if self.poisoned {
            return Err(ApplyError::Poisoned);
        }
        let doc = &self.doc;
        let result = guard::catch(|| {
            // If yrs panics inside `apply_update`, this transaction must not be dropped: its
            // `Drop` commits (a half-applied update, during unwinding) and it holds the store
            // lock. Leaking it is the lesser evil; the module docs explain the recovery.
            let mut txn = ManuallyDrop::new(doc.transact_mut());
            for update in updates {
                if let Err(e) = txn.apply_update(update) {
                    drop(ManuallyDrop::into_inner(txn));
                    return Err(ApplyError::Rejected(e.to_string()));
                }
                *done += 1;
            }
            // Commits. A panic in here unwinds out of a normal drop, which is catchable.
            drop(ManuallyDrop::into_inner(txn));
            Ok(())
        });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                self.poison();
                Err(error)
            }
            Err(message) => {
                self.poison();
                Err(ApplyError::Panicked(message))
            }
        }
    }
}

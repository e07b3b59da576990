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
pub struct Applied<T> {
    /// The tag the update was passed in with (the server passes its sender's connection).
    pub tag: T,
    /// The v1 bytes as the client sent them (or as [`crate::codec::coalesce_typing`] merged
    /// several of them).
    pub raw: Bytes,
    /// [`crate::codec::update_frame`] of `raw`: the client's own frame when it already was
    /// exactly that, so relaying copies nothing.
    pub frame: Bytes,
}

/// How a batch ended when one update failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure<T> {
    /// Tag of the update that failed (close its connection with 4400), or `None` when it is
    /// unknown: the document was already poisoned, or yrs panicked while committing a
    /// transaction of several updates. In the latter case apply `retry` with one update per
    /// transaction after the reload ([`RoomDoc::apply_updates_per_txn`]), so that a repeat
    /// failure names its culprit.
    pub culprit: Option<T>,
    /// What went wrong; the document is poisoned in every case.
    pub error: ApplyError,
    /// Updates of the batch that are not in the document (all but `applied` and `culprit`),
    /// in input order with their tags: reload the room, decode these again and apply them.
    pub retry: Vec<(T, Bytes)>,
}

/// Result of [`RoomDoc::apply_updates`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome<T> {
    /// Updates integrated in transactions that committed, in input order.
    pub applied: Vec<Applied<T>>,
    /// Set when an update failed; the rest of the batch was not applied.
    pub failure: Option<BatchFailure<T>>,
}

impl RoomDoc {
    /// Integrates client updates in input order, [`MAX_UPDATES_PER_TXN`] per transaction. Each
    /// comes with a tag of the caller's choosing (a connection, a position) that the outcome
    /// reports it by. Stops at the first failure; see [`BatchFailure`] for what to do then.
    pub fn apply_updates<T: Copy>(
        &mut self,
        updates: impl IntoIterator<Item = (T, IncomingUpdate)>,
    ) -> BatchOutcome<T> {
        self.apply_updates_per_txn(updates, MAX_UPDATES_PER_TXN)
    }

    /// [`RoomDoc::apply_updates`] with at most `per_txn` updates per transaction (at least one).
    pub fn apply_updates_per_txn<T: Copy>(
        &mut self,
        updates: impl IntoIterator<Item = (T, IncomingUpdate)>,
        per_txn: usize,
    ) -> BatchOutcome<T> {
        let updates = updates.into_iter();
        let mut applied = Vec::with_capacity(updates.size_hint().0);
        let failure = self
            .apply_updates_into(updates, per_txn, &mut applied)
            .err();
        BatchOutcome { applied, failure }
    }

    /// [`RoomDoc::apply_updates_per_txn`] that appends what it integrated to `applied` instead
    /// of returning a new list: a busy room applies one update at a time, and a buffer it
    /// drains and reuses saves an allocation per update.
    pub fn apply_updates_into<T: Copy>(
        &mut self,
        updates: impl IntoIterator<Item = (T, IncomingUpdate)>,
        per_txn: usize,
        applied: &mut Vec<Applied<T>>,
    ) -> Result<(), BatchFailure<T>> {
        let mut rest = updates.into_iter().peekable();
        while rest.peek().is_some() {
            let start = applied.len();
            let mut done = 0;
            // Each update is listed as applied when it is handed to yrs, and taken back from
            // the list below if its transaction fails.
            let chunk = rest.by_ref().take(per_txn.max(1)).map(|(tag, update)| {
                let (raw, frame, update) = update.into_parts();
                let frame = frame.unwrap_or_else(|| update_frame(&raw).into());
                applied.push(Applied { tag, raw, frame });
                update
            });
            if let Err(error) = self.integrate(chunk, &mut done) {
                // A failed transaction leaves nothing usable behind (the document is swapped
                // out), so every other update it took is retried.
                let taken = applied.split_off(start);
                let culprit_at = match error {
                    ApplyError::Poisoned => None,
                    // A commit that panicked with a single update names it too.
                    _ if taken.len() == 1 => Some(0),
                    _ => Some(done),
                };
                let culprit = culprit_at.and_then(|i| taken.get(i)).map(|a| a.tag);
                let retry = taken
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != culprit_at)
                    .map(|(_, a)| (a.tag, a.raw))
                    .chain(rest.map(|(tag, update)| (tag, update.into_raw())))
                    .collect();
                return Err(BatchFailure {
                    culprit,
                    error,
                    retry,
                });
            }
        }
        Ok(())
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

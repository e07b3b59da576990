//! Integrating client updates into the room document, several per yrs transaction, with
//! panics contained and failures reported precisely enough for the server to recover.

use super::{RoomDoc, MAX_UPDATES_PER_TXN};
use crate::codec::preflight::Spans;
use crate::codec::{update_frame, DecodeError, IncomingUpdate};
use crate::guard;
use bytes::Bytes;
use std::cell::RefCell;
use std::mem::ManuallyDrop;
use thiserror::Error;
use yrs::updates::decoder::Decode;
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, TransactionMut, Update};

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
    /// yrs does not decode the update (see [`Refused`]); the document did not change.
    #[error("update does not decode: {0}")]
    Undecodable(DecodeError),
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

/// An update yrs would not decode, with the tag it was passed in with. Nothing of it reached
/// the document and the rest of its batch went on; the server closes its sender with 4400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused<T> {
    /// The tag the update was passed in with (the server passes its sender's connection).
    pub tag: T,
    /// What yrs said.
    pub error: DecodeError,
}

/// Result of [`RoomDoc::apply_updates`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome<T> {
    /// Updates integrated in transactions that committed, in input order.
    pub applied: Vec<Applied<T>>,
    /// Updates yrs would not decode; they were skipped.
    pub refused: Vec<Refused<T>>,
    /// Set when an update failed; the rest of the batch was not applied.
    pub failure: Option<BatchFailure<T>>,
}

/// Where [`RoomDoc::apply_updates_into`] reports what became of each update: lists the caller
/// drains after each batch and keeps, so that a room applying one update at a time does not
/// allocate for each.
#[derive(Debug)]
pub struct Ingested<T> {
    /// Updates integrated in transactions that committed, in input order.
    pub applied: Vec<Applied<T>>,
    /// Updates yrs would not decode, in input order; they were skipped.
    pub refused: Vec<Refused<T>>,
}

impl<T> Ingested<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Ingested {
            applied: Vec::with_capacity(capacity),
            refused: Vec::new(),
        }
    }
}

impl<T> Default for Ingested<T> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl RoomDoc {
    /// Decodes and integrates client updates in input order, [`MAX_UPDATES_PER_TXN`] per
    /// transaction. Each comes with a tag of the caller's choosing (a connection, a position)
    /// that the outcome reports it by. An update yrs does not decode is skipped and listed in
    /// `refused`; the first update yrs fails to integrate stops the batch (see
    /// [`BatchFailure`] for what to do then).
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
        let mut out = Ingested::with_capacity(updates.size_hint().0);
        let failure = self.apply_updates_into(updates, per_txn, &mut out).err();
        BatchOutcome {
            applied: out.applied,
            refused: out.refused,
            failure,
        }
    }

    /// [`RoomDoc::apply_updates_per_txn`] that appends to the lists of `out` instead of
    /// returning new ones: a busy room applies one update at a time, and lists it drains and
    /// reuses save an allocation per update.
    pub fn apply_updates_into<T: Copy>(
        &mut self,
        updates: impl IntoIterator<Item = (T, IncomingUpdate)>,
        per_txn: usize,
        out: &mut Ingested<T>,
    ) -> Result<(), BatchFailure<T>> {
        let mut rest = updates.into_iter().peekable();
        while rest.peek().is_some() {
            let start = out.applied.len();
            let mut done = 0;
            let mut refused = None;
            // Each update is checked against the clocks the room has reached, listed as
            // applied, then decoded, as yrs asks for it (and taken back from the list if it does
            // not decode, or below if its transaction fails). One that does not follow on or
            // does not decode ends the transaction there; the loop goes on after it. The decode
            // runs inside `integrate`'s panic guard: a panic there is handled like one in yrs's
            // apply, with this update, last on the list, named as the culprit. The clocks are
            // moved out while the chunk and `integrate` share them; a failed transaction poisons
            // the room, whose reload counts them again.
            let clocks = RefCell::new(std::mem::take(&mut self.clocks));
            let applied = &mut out.applied;
            let chunk = rest
                .by_ref()
                .take(per_txn.max(1))
                .map_while(|(tag, update)| {
                    let (raw, frame, spans) = update.into_parts();
                    if let Err(error) = follows_on(&clocks.borrow(), &spans) {
                        refused = Some(Refused { tag, error });
                        return None;
                    }
                    let frame = frame.unwrap_or_else(|| update_frame(&raw).into());
                    applied.push(Applied { tag, raw, frame });
                    match Update::decode_v1(&applied.last()?.raw) {
                        Ok(decoded) => {
                            // Assumed integrated; `integrate` corrects this if it waits.
                            let mut clocks = clocks.borrow_mut();
                            for span in spans.iter() {
                                clocks.set_max(ClientID::new(span.client), span.end);
                            }
                            Some(decoded)
                        }
                        Err(error) => {
                            applied.pop();
                            refused = Some(Refused {
                                tag,
                                error: error.into(),
                            });
                            None
                        }
                    }
                });
            let result = self.integrate(chunk, &mut done, Some(&clocks));
            self.clocks = clocks.into_inner();
            out.refused.extend(refused);
            if let Err(error) = result {
                // A failed transaction leaves nothing usable behind (the document is swapped
                // out), so every other update it took is retried.
                let taken = out.applied.split_off(start);
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
    /// (equal to `updates.len()` when the commit itself panicked). `clocks`, when given, are
    /// set to the document's state vector around updates that leave or find blocks waiting: they
    /// then say again how far each client's integrated content reaches.
    pub(crate) fn integrate(
        &mut self,
        updates: impl IntoIterator<Item = Update>,
        done: &mut usize,
        clocks: Option<&RefCell<StateVector>>,
    ) -> Result<(), ApplyError> {
        if self.poisoned {
            return Err(ApplyError::Poisoned);
        }
        let doc = &self.doc;
        let result = guard::catch(|| {
            // If yrs panics inside `apply_update`, this transaction must not be dropped: its
            // `Drop` commits (a half-applied update, during unwinding) and it holds the store
            // lock. Leaking it is the lesser evil; the module docs explain the recovery.
            let mut txn = ManuallyDrop::new(write_txn(doc));
            for update in updates {
                let waited = waiting(&txn);
                if let Err(e) = txn.apply_update(update) {
                    drop(ManuallyDrop::into_inner(txn));
                    return Err(ApplyError::Rejected(e.to_string()));
                }
                *done += 1;
                // Blocks that wait, or waited and may now be in, make the clocks the chunk
                // assumed wrong. Rare (blocks wait only for missing dependencies), so the state
                // vector, whose cost grows with the number of clients, is only read then.
                if let Some(clocks) = clocks.filter(|_| waited || waiting(&txn)) {
                    *clocks.borrow_mut() = txn.state_vector();
                }
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

/// Whether the document holds blocks waiting for missing dependencies.
fn waiting(txn: &TransactionMut<'_>) -> bool {
    txn.store().pending_update().is_some()
}

/// Checks that the content of each client section of an update follows on from what the room
/// has integrated of that client, or waits for its missing predecessor (see `preflight::Span`):
/// otherwise the stock Yjs client would keep it pending where yrs integrates it out of order.
fn follows_on(clocks: &StateVector, spans: &Spans) -> Result<(), DecodeError> {
    for span in spans.iter() {
        let reached = clocks.get(&ClientID::new(span.client));
        if span.needs > reached && !span.chained {
            return Err(DecodeError::NotFollowingOn {
                client: span.client,
                needs: span.needs,
                reached,
            });
        }
    }
    Ok(())
}

/// A write transaction on `doc`, which belongs to a [`RoomDoc`].
///
/// yrs's `transact_mut` takes the document's lock the blocking way, and async-lock's blocking
/// path registers an event listener (an insert into and a removal from a mutex-guarded list)
/// even when the lock is free: in async-lock 3.5 `RawWrite` compares the *previous* state that
/// `fetch_or(WRITER_BIT)` returns with `WRITER_BIT`, which a free lock (0) never matches, so it
/// goes on to wait for readers that are not there. A `perf` profile of raw yrs applying the
/// merge bench's trace one keystroke per transaction put 5% of its time there, and with
/// `try_transact_mut` (compare-and-swaps only) the same replay took 0.95x the time. A `RoomDoc`
/// never lends out its document or a transaction (each method drops its own before returning;
/// a transaction leaked by a panic goes with the document it locks, see `poison`), so the lock
/// is always free here; were that ever not so, the fallback waits for it as yrs itself does.
fn write_txn(doc: &Doc) -> TransactionMut<'_> {
    doc.try_transact_mut()
        .unwrap_or_else(|_| doc.transact_mut())
}

#[cfg(test)]
mod tests {
    use super::write_txn;
    use std::sync::mpsc;
    use std::thread;
    use yrs::{Doc, GetString, Text, Transact};

    /// If something else ever held a room's lock, taking a write transaction would wait for it
    /// (as yrs's `transact_mut` does) and then write, rather than fail or write past it. The
    /// holder writes too, and lets go only once the test is about to take its transaction: the
    /// text shows which write went first.
    #[test]
    fn a_write_transaction_waits_for_a_lock_held_elsewhere_then_writes() {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("t");
        let other = doc.clone();
        let other_text = text.clone();
        let (held_tx, held) = mpsc::channel();
        let (go_tx, go) = mpsc::channel::<()>();
        let holder = thread::spawn(move || {
            let mut txn = other.transact_mut();
            held_tx.send(()).expect("the test is waiting");
            go.recv().expect("the test says when");
            other_text.push(&mut txn, "first, ");
            drop(txn);
        });
        held.recv().expect("the holder took the lock");
        assert!(doc.try_transact_mut().is_err(), "the lock is taken");
        go_tx.send(()).expect("the holder is waiting");
        let mut txn = write_txn(&doc);
        text.push(&mut txn, "then written");
        drop(txn);
        holder.join().expect("the holder ends");
        assert_eq!(text.get_string(&doc.transact()), "first, then written");
    }
}

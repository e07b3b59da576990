//! A client's copy of a room: either a full yrs document (writers, replaying agents, the
//! `client` subcommand and the convergence sample), or a "light" replica that only keeps the
//! state vector of what it has received. Both decode every update they are sent, which is what
//! tells the load generator which edits arrived; only the full one integrates it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use chatspace_crdt::codec::client::{answer_server_step1, client_step1};
use chatspace_crdt::codec::{sync_step1_frame, sync_step2_frame};
use chatspace_crdt::TEXT_NAME;
use yrs::updates::decoder::Decode;
use yrs::{
    ClientID, Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, TextRef, Transact,
    Update,
};

/// A full document: text indices count UTF-16 code units, as in JavaScript.
pub struct FullDoc {
    doc: Doc,
    text: TextRef,
    id: ClientID,
}

impl FullDoc {
    pub fn new(id: ClientID) -> Self {
        let doc = Doc::with_options(Options {
            client_id: id,
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(TEXT_NAME);
        FullDoc { doc, text, id }
    }

    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// Length in UTF-16 code units.
    pub fn len(&self) -> u32 {
        self.text.len(&self.doc.transact())
    }

    /// This client's own clock: where its next edit starts.
    pub fn own_clock(&self) -> u32 {
        self.doc.transact().state_vector().get(&self.id)
    }

    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    /// Applies `patches` (splice triples: at `pos` delete `del`, then insert `ins`) in one
    /// transaction and returns its v1 update. Out-of-range positions are errors, not panics.
    /// With `mark`, a one-character marker is inserted at the start and deleted again in the
    /// same transaction, so that the update always advances our clock (a delete-only trace
    /// transaction would not; see `agent.rs`) while the text is unchanged. It is plain text, as
    /// the server requires of every update (another root type would be refused).
    pub fn splice(&self, patches: &[(u32, u32, &str)], mark: bool) -> Result<Vec<u8>, String> {
        let mut txn = self.doc.transact_mut();
        for &(pos, del, ins) in patches {
            let len = self.text.len(&txn);
            if pos.checked_add(del).is_none_or(|end| end > len) {
                return Err(format!(
                    "edit at {pos} (+{del}) is outside the text (length {len})"
                ));
            }
            if del > 0 {
                self.text.remove_range(&mut txn, pos, del);
            }
            if !ins.is_empty() {
                self.text.insert(&mut txn, pos, ins);
            }
        }
        if mark {
            self.text.insert(&mut txn, 0, "m");
            self.text.remove_range(&mut txn, 0, 1);
        }
        Ok(txn.encode_update_v1())
    }

    /// Integrates a v1 update; returns the upper bound of the clocks it carries, per client.
    pub fn integrate(&self, bytes: &[u8]) -> Result<StateVector, String> {
        guarded(|| {
            let update = Update::decode_v1(bytes).map_err(|e| e.to_string())?;
            let sv = ends(&update);
            self.doc
                .transact_mut()
                .apply_update(update)
                .map_err(|e| e.to_string())?;
            Ok(sv)
        })
    }

    /// Our sync step 1.
    pub fn step1(&self) -> Vec<u8> {
        client_step1(&self.doc)
    }

    /// Our answer to the server's step 1: everything it lacks.
    pub fn answer(&self, server_sv: &StateVector) -> Vec<u8> {
        answer_server_step1(&self.doc, server_sv)
    }
}

/// A client's copy of the room.
pub enum Replica {
    Full(Box<FullDoc>),
    /// Only what has been received: the upper clocks of every update, per client.
    Light(StateVector),
}

impl Replica {
    pub fn full(id: ClientID) -> Self {
        Replica::Full(Box::new(FullDoc::new(id)))
    }

    /// Takes in one received update; returns its upper state vector.
    pub fn integrate(&mut self, bytes: &[u8]) -> Result<StateVector, String> {
        match self {
            Replica::Full(doc) => doc.integrate(bytes),
            Replica::Light(seen) => {
                let sv = upper_clocks(bytes)?;
                for (&client, &clock) in sv.iter() {
                    seen.set_max(client, clock);
                }
                Ok(sv)
            }
        }
    }

    pub fn step1(&self) -> Vec<u8> {
        match self {
            Replica::Full(doc) => doc.step1(),
            Replica::Light(sv) => sync_step1_frame(sv),
        }
    }

    pub fn answer(&self, server_sv: &StateVector) -> Vec<u8> {
        match self {
            Replica::Full(doc) => doc.answer(server_sv),
            Replica::Light(_) => sync_step2_frame(Update::EMPTY_V1),
        }
    }
}

/// The upper bound of the clocks a v1 update carries, per client, without integrating it.
pub fn upper_clocks(bytes: &[u8]) -> Result<StateVector, String> {
    guarded(|| {
        Update::decode_v1(bytes)
            .map(|u| ends(&u))
            .map_err(|e| e.to_string())
    })
}

/// Per client, the clock just past the last block of `update`. (`Update::state_vector` will not
/// do: it only counts clients whose blocks start at clock 0, i.e. whole-document updates.)
fn ends(update: &Update) -> StateVector {
    let mut sv = StateVector::default();
    for (&client, ranges) in update.insertions(true).iter() {
        if let Some(end) = ranges.iter().map(|r| r.end).max() {
            sv.set_max(client, end);
        }
    }
    sv
}

/// Runs yrs code that may panic on bad input, turning a panic into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err("yrs panicked".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_count_utf16_units_like_javascript() {
        let doc = FullDoc::new(ClientID::new(1));
        doc.splice(&[(0, 0, "a😀b")], false).unwrap();
        assert_eq!(doc.len(), 4);
        doc.splice(&[(3, 1, "c")], false).unwrap();
        assert_eq!(doc.text(), "a😀c");
    }

    #[test]
    fn out_of_range_edits_are_errors() {
        let doc = FullDoc::new(ClientID::new(1));
        assert!(doc.splice(&[(1, 0, "x")], false).is_err());
        assert!(doc.splice(&[(0, 1, "")], false).is_err());
        assert!(doc.splice(&[(0, u32::MAX, "")], false).is_err());
    }

    #[test]
    fn a_marked_delete_advances_the_clock_and_leaves_the_text_alone() {
        let doc = FullDoc::new(ClientID::new(7));
        doc.splice(&[(0, 0, "abc")], false).unwrap();
        let before = doc.own_clock();
        let update = doc.splice(&[(1, 1, "")], true).unwrap();
        assert_eq!(doc.text(), "ac");
        assert_eq!(doc.own_clock(), before + 1);
        let mut light = Replica::Light(StateVector::default());
        assert_eq!(
            light.integrate(&update).unwrap().get(&ClientID::new(7)),
            before + 1
        );
    }

    #[test]
    fn updates_carry_their_upper_clocks_and_garbage_is_an_error() {
        let a = FullDoc::new(ClientID::new(1));
        let b = FullDoc::new(ClientID::new(2));
        let update = a.splice(&[(0, 0, "hello")], false).unwrap();
        assert_eq!(b.integrate(&update).unwrap().get(&ClientID::new(1)), 5);
        let second = a.splice(&[(5, 0, "!")], false).unwrap();
        assert_eq!(upper_clocks(&second).unwrap().get(&ClientID::new(1)), 6);
        assert_eq!(b.text(), "hello");
        assert!(b.integrate(&[0xff, 0xff, 0xff]).is_err());
    }
}

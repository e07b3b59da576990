//! `RoomDoc`: one room's shared document (a yrs `Doc` whose text root is `colabspace`) and its
//! awareness states. Pure and synchronous: the room task feeds it decoded client messages and
//! gets back frames to send and bytes to store.
//!
//! # Poisoning
//! yrs can panic on some inputs, and a failed `apply_update` may leave a partly integrated
//! update behind. Either way the live document no longer equals "what is stored + what was
//! accepted", so the `RoomDoc` marks itself **poisoned** ([`RoomDoc::is_poisoned`]): it refuses
//! further updates and snapshots, and the server must flush the room's pending log writes,
//! drop this value and [`RoomDoc::load`] the room again from storage. Nothing of the failed
//! update was stored, so the reloaded document is consistent.
//!
//! After a panic the transaction that was open is deliberately leaked rather than dropped:
//! dropping it would commit a half-applied update while unwinding (a second panic there aborts
//! the process) and its lock would block every later read. The leaked document is replaced by
//! an empty one so that reads keep working; they describe an empty document until the reload.

mod awareness;
mod batch;
mod load;

pub use awareness::{AwarenessChange, AwarenessError};
pub use batch::{Applied, ApplyError, BatchFailure, BatchOutcome, Ingested, Refused};
pub use load::{LoadError, Recovered};

use crate::codec::{
    self, sync_step1_frame, AwarenessUpdate, DecodedAnchor, IncomingUpdate, Limits,
};
use crate::guard;
use awareness::AwarenessStates;
use thiserror::Error;
use yrs::{ClientID, Doc, GetString, ReadTxn, StateVector, Transact};

/// Name of the shared text root (`ydoc.getText('colabspace')` in the browser).
pub const TEXT_NAME: &str = "colabspace";

/// Most updates integrated in one yrs transaction. Small batches amortise the per-transaction
/// cost (decoding and applying an editing trace's 259,778 keystrokes 16 per transaction took
/// 0.7x the time of one per transaction); very large transactions are a cliff (all of them in
/// one transaction took 20x longer than one transaction each).
pub const MAX_UPDATES_PER_TXN: usize = 64;

/// A read-side encode that could not produce bytes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The document is poisoned; reload it from storage.
    #[error("room document is poisoned and must be reloaded")]
    Poisoned,
    /// yrs panicked while encoding; the document was not changed.
    #[error("yrs panicked while encoding: {0}")]
    Panicked(String),
}

/// One room's document and awareness states. See the module docs for poisoning.
#[derive(Debug)]
pub struct RoomDoc {
    /// The text root is never declared (`get_or_insert_text`) on this document: yrs builds a
    /// change event for every declared text on every commit, observed or not, which cost 7% of
    /// applying a keystroke. Its items are the same either way; `text()` reads them.
    doc: Doc,
    /// How far the content the room has integrated of each client reaches on its clock (its
    /// state vector, kept up to date as updates apply): an update must follow on from it (see
    /// `preflight::Span`).
    clocks: StateVector,
    awareness: AwarenessStates,
    poisoned: bool,
}

impl Default for RoomDoc {
    fn default() -> Self {
        Self::new()
    }
}

impl RoomDoc {
    /// An empty room with default [`Limits`].
    pub fn new() -> Self {
        RoomDoc {
            doc: Doc::new(),
            clocks: StateVector::default(),
            awareness: AwarenessStates::new(Limits::default().max_awareness_state_bytes),
            poisoned: false,
        }
    }

    /// Applies the awareness size limit of `limits` (builder style, after `new` or `load`).
    pub fn with_limits(mut self, limits: &Limits) -> Self {
        self.awareness
            .set_max_state_bytes(limits.max_awareness_state_bytes);
        self
    }

    /// The frames a new connection receives: the server's sync step 1 (so that a client with
    /// offline edits answers with a step 2 carrying them) and, when anyone is present, one
    /// awareness frame with every state.
    pub fn greeting(&self) -> Vec<Vec<u8>> {
        let mut frames = vec![sync_step1_frame(&self.state_vector())];
        if self.awareness.has_states() {
            frames.push(self.awareness.states_frame());
        }
        frames
    }

    /// The sync step 2 frame answering a client's step 1: everything `sv` lacks, including
    /// updates still waiting for missing predecessors and the whole delete set.
    pub fn answer_step1(&self, sv: &StateVector) -> Result<Vec<u8>, EncodeError> {
        self.encode_for_peer(sv)
            .map(|update| codec::sync_step2_frame(&update))
    }

    /// Integrates one client update (see [`RoomDoc::apply_updates`] for batches). On success
    /// [`Applied`] holds the raw bytes to store and the frame to relay. An update yrs does not
    /// decode is [`ApplyError::Undecodable`] and changes nothing; on any other error the
    /// document is poisoned.
    pub fn apply_update(&mut self, update: IncomingUpdate) -> Result<Applied<()>, ApplyError> {
        let mut outcome = self.apply_updates([((), update)]);
        match (
            outcome.failure,
            outcome.applied.pop(),
            outcome.refused.pop(),
        ) {
            (Some(failure), _, _) => Err(failure.error),
            (None, Some(applied), _) => Ok(applied),
            (None, None, Some(refused)) => Err(ApplyError::Undecodable(refused.error)),
            (None, None, None) => Err(ApplyError::Poisoned),
        }
    }

    /// Awareness update from a client: applies it and returns what changed plus the frame to
    /// relay to every other connection. Oversized states reject the whole update.
    pub fn apply_awareness(
        &mut self,
        update: AwarenessUpdate,
    ) -> Result<AwarenessChange, AwarenessError> {
        self.awareness.apply(update)
    }

    /// Removes the states of `ids` (the client ids that arrived on a closed socket) and
    /// returns the frame telling everyone, or `None` when none of them was present.
    pub fn remove_awareness(&mut self, ids: &[ClientID]) -> Option<Vec<u8>> {
        self.awareness.remove(ids)
    }

    /// Takes over the awareness states of `previous` (with the remembered clocks of removed
    /// clients), typically the poisoned instance this freshly loaded one replaces: awareness
    /// is not stored, so a reload would otherwise forget who is present.
    pub fn inherit_awareness(&mut self, previous: RoomDoc) {
        self.awareness = previous.awareness;
    }

    /// One awareness frame with every live state (possibly none): the answer to a query.
    pub fn awareness_states_frame(&self) -> Vec<u8> {
        self.awareness.states_frame()
    }

    /// The JSON text of a client's live awareness state.
    pub fn awareness_state(&self, client_id: ClientID) -> Option<&str> {
        self.awareness.state(client_id)
    }

    /// The shared text.
    pub fn text(&self) -> String {
        let txn = self.doc.transact();
        txn.get_text(TEXT_NAME)
            .map(|text| text.get_string(&txn))
            .unwrap_or_default()
    }

    /// The document's state vector.
    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    /// True when both positions of a comment's anchor are in this room's text: the items they
    /// name have been integrated (see [`DecodedAnchor::is_within`]).
    pub fn holds_anchor(&self, anchor: &DecodedAnchor) -> bool {
        anchor.is_within(&self.clocks)
    }

    /// What a peer at `sv` lacks, as one v1 update (the update of a sync step 2).
    pub fn encode_missing_v1(&self, sv: &StateVector) -> Result<Vec<u8>, EncodeError> {
        self.encode_for_peer(sv)
    }

    /// The whole document as one v1 update (what a client with nothing receives).
    pub fn encode_state_as_update_v1(&self) -> Result<Vec<u8>, EncodeError> {
        self.encode_for_peer(&StateVector::default())
    }

    /// True when some applied updates wait for predecessors that have not arrived yet.
    pub fn has_missing_updates(&self) -> bool {
        self.doc.transact().has_missing_updates()
    }

    /// True after a failed or panicking apply: reload the room from storage.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// What a peer at `sv` lacks, including updates that still wait for predecessors (as Yjs
    /// does). yrs re-encodes those waiting updates by merging them, and that merge panics for
    /// some malformed ones (found by fuzzing), which would leave every later joiner without a
    /// step 2. Then the answer is sent without them: peers get them once they can apply.
    fn encode_for_peer(&self, sv: &StateVector) -> Result<Vec<u8>, EncodeError> {
        match self.encode_with(|txn| txn.encode_state_as_update_v1(sv)) {
            Err(EncodeError::Panicked(_)) => self.encode_with(|txn| txn.encode_diff_v1(sv)),
            other => other,
        }
    }

    /// Runs a read-only encode under the panic guard (encoding has panicked in the past too,
    /// y-crdt/y-crdt issues #391 and #415).
    pub(crate) fn encode_with(
        &self,
        f: impl FnOnce(&yrs::Transaction<'_>) -> Vec<u8>,
    ) -> Result<Vec<u8>, EncodeError> {
        if self.poisoned {
            return Err(EncodeError::Poisoned);
        }
        guard::catch(|| f(&self.doc.transact())).map_err(EncodeError::Panicked)
    }

    /// Poisons the room and swaps in an empty document (see the module docs).
    fn poison(&mut self) {
        self.poisoned = true;
        self.doc = Doc::new();
    }
}

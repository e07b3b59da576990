//! The room's awareness states (cursors, names, colours), kept the way y-protocols does.
//!
//! Rules, from y-protocols `awareness.js` (`applyAwarenessUpdate`, `removeAwarenessStates`):
//! an entry replaces the known one when its clock is higher; a `null` state with the *same*
//! clock removes a live state (that is how one peer tells the others that a third one left);
//! the clock of a removed client is remembered so that a late, older state cannot resurrect
//! it. The server never has a state of its own, so the "never let a remote client remove the
//! local state" rule does not apply here.
//!
//! Differences, on purpose: a `null` for a client never seen is ignored instead of being
//! remembered (junk ids cost no memory), a client whose state comes back after a removal
//! is reported as `added` rather than `updated`, so the server can attribute it to the
//! connection that sent it, and only the clocks of the [`MAX_REMEMBERED_REMOVALS`] most
//! recently removed clients are remembered (y-protocols keeps them all, for ever), so clients
//! that come and go cannot grow a long-lived room's memory.

use crate::codec::{awareness_frame, AwarenessEntry, AwarenessUpdate};
use crate::presence::MAX_REMEMBERED_REMOVALS;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use thiserror::Error;
use yrs::ClientID;

/// An awareness update the room refuses as a whole (nothing of it is applied).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AwarenessError {
    /// One state is larger than the configured maximum.
    #[error("awareness state of client {client_id} is {len} bytes, the limit is {max}")]
    StateTooLarge {
        /// The client id of the oversized state.
        client_id: ClientID,
        /// Size of its JSON text in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },
}

/// What an awareness update changed, and the frame that tells everyone else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwarenessChange {
    /// Clients that had no live state before and have one now. The server should record these
    /// as belonging to the connection that sent the update.
    pub added: Vec<ClientID>,
    /// Clients whose live state was replaced (including heartbeats with identical content,
    /// which peers need to keep the client from timing out). Record these for the sender too:
    /// a client that reconnected on a new socket keeps its id.
    pub updated: Vec<ClientID>,
    /// Clients whose state is now `null`.
    pub removed: Vec<ClientID>,
    /// Awareness frame for every other connection, or `None` when nothing changed (a stale or
    /// repeated clock).
    pub frame: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
struct Meta {
    clock: u64,
    /// JSON text of the live state; `None` once removed (the clock is kept).
    state: Option<String>,
    /// Number of the latest removal, matched against `AwarenessStates::removals`.
    removal: u64,
}

/// All awareness states of one room.
#[derive(Debug, Clone)]
pub(crate) struct AwarenessStates {
    // A BTreeMap keeps frames deterministic (sorted by client id), which tests rely on.
    clients: BTreeMap<ClientID, Meta>,
    max_state_bytes: usize,
    /// Removals in order, oldest first: the client and the number of that removal. An entry
    /// whose client came back (or was removed again later) no longer matches its `Meta` and is
    /// skipped when it reaches the front.
    removals: VecDeque<(ClientID, u64)>,
    removal_count: u64,
}

impl AwarenessStates {
    pub(crate) fn new(max_state_bytes: usize) -> Self {
        AwarenessStates {
            clients: BTreeMap::new(),
            max_state_bytes,
            removals: VecDeque::new(),
            removal_count: 0,
        }
    }

    pub(crate) fn set_max_state_bytes(&mut self, max: usize) {
        self.max_state_bytes = max;
    }

    pub(crate) fn apply(
        &mut self,
        update: AwarenessUpdate,
    ) -> Result<AwarenessChange, AwarenessError> {
        // All or nothing: check every entry before changing anything.
        for entry in &update.entries {
            let len = entry.state.as_ref().map_or(0, String::len);
            if len > self.max_state_bytes {
                return Err(AwarenessError::StateTooLarge {
                    client_id: entry.client_id,
                    len,
                    max: self.max_state_bytes,
                });
            }
        }
        // Client id -> was it live before this update; in first-touch order.
        let mut touched: Vec<(ClientID, bool)> = Vec::new();
        let mut seen = BTreeSet::new();
        for AwarenessEntry {
            client_id,
            clock,
            state,
        } in update.entries
        {
            let was_live = self.is_live(client_id);
            let applied = match self.clients.get_mut(&client_id) {
                None if state.is_none() => false,
                None => {
                    let meta = Meta {
                        clock,
                        state,
                        removal: 0,
                    };
                    self.clients.insert(client_id, meta);
                    true
                }
                Some(meta) => {
                    let newer = meta.clock < clock;
                    let same_clock_removal =
                        meta.clock == clock && state.is_none() && meta.state.is_some();
                    if newer || same_clock_removal {
                        meta.clock = clock;
                        meta.state = state;
                    }
                    newer || same_clock_removal
                }
            };
            if applied && seen.insert(client_id) {
                touched.push((client_id, was_live));
            }
        }
        let mut change = AwarenessChange::default();
        for &(client_id, was_live) in &touched {
            match (was_live, self.is_live(client_id)) {
                (false, true) => change.added.push(client_id),
                (true, true) => change.updated.push(client_id),
                (true, false) => {
                    self.note_removal(client_id);
                    change.removed.push(client_id);
                }
                // A newer `null` for an already removed client is relayed too (y-protocols
                // lists it as removed), so peers learn the newer clock.
                (false, false) => change.removed.push(client_id),
            }
        }
        change.frame = self.frame_for(touched.iter().map(|&(id, _)| id));
        self.forget_old_removals();
        Ok(change)
    }

    /// Marks the live states of `ids` as removed, keeping their clocks, exactly as
    /// y-protocols `removeAwarenessStates` does for remote clients: peers drop a live state
    /// when they receive `null` with the clock they already know. Returns the frame announcing
    /// it, or `None` when none of them had a live state.
    pub(crate) fn remove(&mut self, ids: &[ClientID]) -> Option<Vec<u8>> {
        let mut removed = Vec::new();
        for id in ids {
            if let Some(meta) = self.clients.get_mut(id) {
                if meta.state.take().is_some() {
                    removed.push(*id);
                }
            }
        }
        for &id in &removed {
            self.note_removal(id);
        }
        let frame = self.frame_for(removed.into_iter());
        self.forget_old_removals();
        frame
    }

    /// Queues the just removed `id` for forgetting once enough later removals follow.
    fn note_removal(&mut self, id: ClientID) {
        self.removal_count += 1;
        if let Some(meta) = self.clients.get_mut(&id) {
            meta.removal = self.removal_count;
        }
        self.removals.push_back((id, self.removal_count));
    }

    /// Forgets the oldest removed clients beyond [`MAX_REMEMBERED_REMOVALS`]: their clocks go,
    /// and with them all memory of the client.
    fn forget_old_removals(&mut self) {
        while self.removals.len() > MAX_REMEMBERED_REMOVALS {
            let Some((id, removal)) = self.removals.pop_front() else {
                break;
            };
            let stale = self
                .clients
                .get(&id)
                .is_some_and(|m| m.state.is_none() && m.removal == removal);
            if stale {
                self.clients.remove(&id);
            }
        }
    }

    pub(crate) fn has_states(&self) -> bool {
        self.clients.values().any(|m| m.state.is_some())
    }

    pub(crate) fn state(&self, client_id: ClientID) -> Option<&str> {
        self.clients.get(&client_id)?.state.as_deref()
    }

    /// One frame with every live state (the answer to a query and part of the greeting).
    pub(crate) fn states_frame(&self) -> Vec<u8> {
        let live = self
            .clients
            .iter()
            .filter(|(_, m)| m.state.is_some())
            .map(|(&id, _)| id);
        awareness_frame(&self.update_for(live))
    }

    fn is_live(&self, client_id: ClientID) -> bool {
        self.clients
            .get(&client_id)
            .is_some_and(|m| m.state.is_some())
    }

    fn update_for(&self, ids: impl Iterator<Item = ClientID>) -> AwarenessUpdate {
        let entries = ids
            .filter_map(|id| {
                let meta = self.clients.get(&id)?;
                Some(AwarenessEntry {
                    client_id: id,
                    clock: meta.clock,
                    state: meta.state.clone(),
                })
            })
            .collect();
        AwarenessUpdate { entries }
    }

    fn frame_for(&self, ids: impl Iterator<Item = ClientID>) -> Option<Vec<u8>> {
        let update = self.update_for(ids);
        (!update.entries.is_empty()).then(|| awareness_frame(&update))
    }
}

//! What one connection may say in its room's awareness (presence: names, colours, cursors).
//!
//! y-protocols trusts every peer with every client id, and a stock y-websocket client re-sends
//! the states of *other* clients (every change it applies, and the removal of a peer its own
//! 30 s timeout dropped). A server that applied all of that would let any connection change or
//! remove anyone's presence, announce any number of client ids, and show up under any name.
//! So, per connection:
//! - it speaks for the client ids it announced: at most [`MAX_CLIENT_IDS_PER_CONNECTION`] over
//!   its life (a stock client uses one, its document's `clientID`);
//! - entries for a client id whose live state came from another connection are ignored, as are
//!   removals of ids it holds no live state for (nothing of its own to remove);
//! - entries announcing an id beyond the cap are ignored (the socket stays open: a stock client
//!   re-sending a peer's state just as that peer left must not be cut off);
//! - a state's `user.name` is the connection's username ([`show_as`]);
//! - the states it holds are removed for everyone when it closes ([`ConnectionAwareness::leave`]).

use crate::codec::AwarenessUpdate;
use crate::room::{AwarenessChange, AwarenessError, RoomDoc};
use serde_json::{Map, Value};
use yrs::ClientID;

/// Awareness client ids one connection may announce over its life: a stock client uses one;
/// the rest leave room for a client that changes its document on the same socket.
pub const MAX_CLIENT_IDS_PER_CONNECTION: usize = 4;

/// Removed clients whose clocks a room remembers (y-protocols keeps them all, for ever); the
/// oldest removals are forgotten first. A remembered clock only keeps out a late copy of a
/// state that was just removed (a peer re-sending it as its owner leaves).
pub const MAX_REMEMBERED_REMOVALS: usize = 1024;

/// Awareness client ids a read-only connection (a viewer's) may announce over its life: its
/// presence is shown, and one id is all a stock client needs.
pub const MAX_CLIENT_IDS_READ_ONLY: usize = 1;

/// The awareness client ids of one connection.
#[derive(Debug, Clone)]
pub struct ConnectionAwareness {
    /// Every id this connection announced (at most [`MAX_CLIENT_IDS_PER_CONNECTION`]); it may
    /// come back to any of them after removing its state.
    announced: Vec<ClientID>,
    /// The ids whose live state in the room came from this connection.
    live: Vec<ClientID>,
    /// How many ids it may announce over its life.
    cap: usize,
}

impl Default for ConnectionAwareness {
    fn default() -> Self {
        Self::with_cap(MAX_CLIENT_IDS_PER_CONNECTION)
    }
}

/// Entries of an update that [`ConnectionAwareness::apply`] left out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Ignored {
    /// Entries for ids another connection holds, or removals of ids this one does not hold.
    pub foreign: usize,
    /// Entries that would have announced more ids than the cap allows.
    pub over_cap: usize,
    /// States that could not be checked (see [`show_as`]).
    pub unreadable: usize,
}

impl ConnectionAwareness {
    /// A connection that may announce at most `cap` client ids over its life.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            announced: Vec::new(),
            live: Vec::new(),
            cap,
        }
    }

    /// Changes the cap (a connection whose role changed); ids already announced stay its own.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Applies the entries of `update` this connection may make (see the module docs) to the
    /// room, its states shown under `name`; returns what changed (its frame is for the other
    /// connections) and what was left out. Only the entries kept are rewritten, so the states
    /// of others that a stock client echoes cost no more than a look-up.
    pub fn apply(
        &mut self,
        room: &mut RoomDoc,
        update: AwarenessUpdate,
        name: &str,
    ) -> Result<(AwarenessChange, Ignored), AwarenessError> {
        let mut ignored = Ignored::default();
        let mut new_ids: Vec<ClientID> = Vec::new();
        let entries = update
            .entries
            .into_iter()
            .filter(|entry| {
                let id = entry.client_id;
                if self.live.contains(&id) {
                    return true;
                }
                // Every live state belongs to the connection that sent it.
                if room.awareness_state(id).is_some() || entry.state.is_none() {
                    ignored.foreign += 1;
                    return false;
                }
                if self.announced.contains(&id) || new_ids.contains(&id) {
                    return true;
                }
                if self.announced.len() + new_ids.len() < self.cap {
                    new_ids.push(id);
                    return true;
                }
                ignored.over_cap += 1;
                false
            })
            .collect();
        let mut update = AwarenessUpdate { entries };
        ignored.unreadable = show_as(&mut update, name);
        let change = room.apply_awareness(update)?;
        for &id in &change.added {
            if !self.announced.contains(&id) {
                self.announced.push(id);
            }
            self.live.push(id);
        }
        self.live.retain(|id| !change.removed.contains(id));
        Ok((change, ignored))
    }

    /// The connection closed: removes its live states from the room and returns the frame that
    /// tells everyone, if it had any.
    pub fn leave(&mut self, room: &mut RoomDoc) -> Option<Vec<u8>> {
        let ids = std::mem::take(&mut self.live);
        room.remove_awareness(&ids)
    }

    /// The ids whose live state came from this connection.
    pub fn live_ids(&self) -> &[ClientID] {
        &self.live
    }
}

/// Shows every state of `update` under `name`: a state that is a JSON object with a `user`
/// field gets `user.name` set to `name` (an object `user` keeps its other fields, such as the
/// colour; any other `user` becomes `{"name": name}`). Other states are kept as they are; a
/// state without `user` shows no name. A state that JSON-parses only leniently (a string with a
/// lone UTF-16 surrogate, a number beyond the double range) cannot be checked and is dropped
/// from the update; returns how many were.
pub fn show_as(update: &mut AwarenessUpdate, name: &str) -> usize {
    let before = update.entries.len();
    update.entries.retain_mut(|entry| {
        let Some(json) = &entry.state else {
            return true;
        };
        match named(json, name) {
            Ok(Some(renamed)) => entry.state = Some(renamed),
            Ok(None) => {}
            Err(()) => return false,
        }
        true
    });
    before - update.entries.len()
}

/// `json` with `user.name` set to `name`, `None` when it needs no change.
fn named(json: &str, name: &str) -> Result<Option<String>, ()> {
    let mut state: Value = serde_json::from_str(json).map_err(|_| ())?;
    let Some(user) = state.as_object_mut().and_then(|o| o.get_mut("user")) else {
        return Ok(None);
    };
    match user {
        Value::Object(fields) if fields.get("name").and_then(Value::as_str) == Some(name) => {
            return Ok(None)
        }
        Value::Object(fields) => {
            fields.insert("name".into(), Value::from(name));
        }
        other => *other = Value::Object(Map::from_iter([("name".into(), Value::from(name))])),
    }
    serde_json::to_string(&state).map(Some).map_err(|_| ())
}

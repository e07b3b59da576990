//! Who wrote what: each Yjs client id of a room belongs to the first signed-in user whose
//! connection wrote under it. An edit (a sync update) that writes under an id another user owns
//! is refused (its sender closed with 4406), so the authorship that versions and the author
//! colours show cannot be forged by typing under someone else's id.
//!
//! A sync step 2 is exempt: it carries whatever the client holds that the server lacks, and
//! after a crash that includes others' edits the server relayed but had not stored yet; their
//! authors may be gone for good, and refusing the clients that hold those edits would lose them
//! and lock those clients out. So a client that forges authorship through a step 2 is not
//! stopped; its step 2 still cannot claim an id for its own user that someone else owns.
//!
//! The room keeps the owners in memory (read with the document when it loads) and records new
//! claims in the database without waiting for it. With several nodes, a claim made on another
//! node after this one loaded the room is not known here; the database keeps the first claim
//! of an id either way.

use std::collections::HashMap;

use chatspace_crdt::IncomingUpdate;

use super::handle::CloseCode;
use super::remote::REMOTE;
use super::room::LiveRoom;
use crate::metrics::Refusal;

/// Client id to the user id that owns it.
pub(super) type Owners = HashMap<u64, i64>;

impl LiveRoom {
    /// Drops the updates that write under a client id another user owns, closing their
    /// senders; claims the ids the others write under first. Updates from other nodes were held
    /// to this by their own node.
    pub(super) fn refuse_foreign_clients(
        &mut self,
        mut batch: Vec<(u64, IncomingUpdate)>,
    ) -> Vec<(u64, IncomingUpdate)> {
        let mut claims: Vec<(u64, i64)> = Vec::new();
        let mut refused: Vec<u64> = Vec::new();
        batch.retain(|(conn, update)| {
            if *conn == REMOTE {
                return true;
            }
            let Some(user) = self.subscribers.get(conn).map(|sub| sub.user.id) else {
                return false;
            };
            let foreign = !update.is_resync()
                && update
                    .writes_as()
                    .any(|client| self.owners.get(&client).is_some_and(|&owner| owner != user));
            if foreign {
                refused.push(*conn);
                return false;
            }
            for client in update.writes_as() {
                if let std::collections::hash_map::Entry::Vacant(entry) = self.owners.entry(client)
                {
                    entry.insert(user);
                    claims.push((client, user));
                }
            }
            true
        });
        for conn in refused {
            crate::metrics::refused(Refusal::ForeignClient);
            tracing::warn!(conn, "an update writes under another user's client id");
            self.close(conn, CloseCode::ForeignClient);
        }
        if !claims.is_empty() {
            let store = self.rooms.store().clone();
            let room_id = self.room_id;
            self.rooms.tasks().spawn(async move {
                if let Err(error) = store.claim_clients(room_id, &claims).await {
                    tracing::warn!(%error, "recording who owns new client ids failed");
                }
            });
        }
        batch
    }
}

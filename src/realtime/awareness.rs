//! Awareness in the room task: how many client ids a connection may speak for, and applying
//! and relaying what a connection announces.

use bytes::Bytes;
use chatspace_crdt::codec::AwarenessUpdate;
use chatspace_crdt::presence::{MAX_CLIENT_IDS_PER_CONNECTION, MAX_CLIENT_IDS_READ_ONLY};

use super::room::LiveRoom;
use crate::bus::Notice;
use crate::metrics::Refusal;
use crate::rooms::access::Role;

/// Awareness client ids a connection of `role` may announce over its life.
pub(super) fn awareness_cap(role: Role) -> usize {
    match role.can_edit() {
        true => MAX_CLIENT_IDS_PER_CONNECTION,
        false => MAX_CLIENT_IDS_READ_ONLY,
    }
}

impl LiveRoom {
    /// Applies the entries of an awareness update that `conn` may make and relays what changed
    /// to the others; the rest is ignored (see `chatspace_crdt::presence`).
    pub(super) fn apply_awareness(&mut self, conn: u64, update: AwarenessUpdate) {
        let Some(sub) = self.subscribers.get_mut(&conn) else {
            return;
        };
        match sub
            .awareness
            .apply(&mut self.doc, update, &sub.user.username)
        {
            Ok((change, ignored)) => {
                if ignored.over_cap > 0 && !sub.awareness_capped {
                    sub.awareness_capped = true;
                    tracing::warn!(
                        conn,
                        user = sub.user.username,
                        ignored = ignored.over_cap,
                        "awareness client ids beyond the per-connection cap ignored"
                    );
                }
                let ids = sub.awareness.live_ids().to_vec();
                self.claim_presence(None, &ids);
                if let Some(frame) = change.frame {
                    let frame = Bytes::from(frame);
                    self.publish(Notice::Awareness(frame.clone()));
                    self.relay_awareness(Some(conn), frame);
                }
            }
            Err(error) => {
                crate::metrics::refused(Refusal::of_awareness(&error));
                self.reject(conn, &error);
            }
        }
    }
}

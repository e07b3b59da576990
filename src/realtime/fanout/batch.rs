//! What a room holds back during a tick, and the frames each connection gets for it when the
//! tick ends: the updates merged into one update and the awareness messages into one awareness
//! message, each without what that connection sent itself (nothing is echoed to its sender).

use std::collections::HashMap;

use bytes::Bytes;
use chatspace_crdt::codec::{merge_awareness, merge_updates};

use super::pacer::RelayKind;

/// Relays merged into one frame at most: yrs's merge sorts its inputs again for every block it
/// writes, so its cost grows faster than their number.
const MERGE_MAX: usize = 64;
/// A relay larger than this goes out in its own frame, in its place among the others (a paste,
/// a step 2: merging would copy it once more for little gain).
const MERGE_MAX_BYTES: usize = 16 * 1024;
/// Relays, and bytes of them, a room holds at most; more sends them at once.
const HOLD_MAX: usize = 1024;
const HOLD_MAX_BYTES: usize = 1024 * 1024;

/// One message to relay.
pub(crate) struct Relay {
    /// The connection it came from, which does not get it back; `None` for another node's, or
    /// the room's own (a closed connection's awareness removed).
    pub from: Option<u64>,
    /// What merging reads: an update's v1 bytes, or the awareness frame itself.
    pub payload: Bytes,
    /// The frame that relays it alone.
    pub frame: Bytes,
}

/// The relays held back, in the order they came, per kind.
#[derive(Default)]
pub(crate) struct Held {
    updates: Vec<Relay>,
    awareness: Vec<Relay>,
    bytes: usize,
}

impl Held {
    pub(crate) fn push(&mut self, kind: RelayKind, relay: Relay) {
        self.bytes += relay.frame.len();
        match kind {
            RelayKind::Update => self.updates.push(relay),
            RelayKind::Awareness => self.awareness.push(relay),
        }
    }

    /// Whether the room should send what it holds now rather than at the end of the tick.
    pub(crate) fn is_full(&self) -> bool {
        self.updates.len() + self.awareness.len() >= HOLD_MAX || self.bytes >= HOLD_MAX_BYTES
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.updates.is_empty() && self.awareness.is_empty()
    }

    /// Everything held: the updates, then the awareness messages.
    pub(crate) fn take(&mut self) -> (Vec<Relay>, Vec<Relay>) {
        self.bytes = 0;
        (
            std::mem::take(&mut self.updates),
            std::mem::take(&mut self.awareness),
        )
    }
}

/// The frames of one batch, per connection: the updates' frames before the awareness frames,
/// so that a cursor never arrives ahead of the text it points into.
pub(crate) struct Fanned {
    /// For every connection that sent none of the batch.
    everyone: Vec<Bytes>,
    /// For each connection that sent some of it: the batch without its own.
    own: HashMap<u64, Vec<Bytes>>,
}

impl Fanned {
    /// Builds the frames of `updates` and `awareness` for every connection that `reading`
    /// (still in the room) holds.
    pub(crate) fn new(
        updates: &[Relay],
        awareness: &[Relay],
        reading: impl Fn(u64) -> bool,
    ) -> Self {
        let frames_without = |except: Option<u64>| {
            let mut out = Vec::new();
            frames(updates, except, merged_updates, &mut out);
            frames(awareness, except, merged_awareness, &mut out);
            out
        };
        let mut own = HashMap::new();
        for from in updates.iter().chain(awareness).filter_map(|r| r.from) {
            if reading(from) && !own.contains_key(&from) {
                own.insert(from, frames_without(Some(from)));
            }
        }
        Self {
            everyone: frames_without(None),
            own,
        }
    }

    /// What connection `conn` gets.
    pub(crate) fn frames_for(&self, conn: u64) -> &[Bytes] {
        self.own.get(&conn).unwrap_or(&self.everyone)
    }
}

fn merged_updates(relays: &[&Relay]) -> Option<Vec<u8>> {
    merge_updates(relays.iter().map(|r| &r.payload[..]))
}

fn merged_awareness(relays: &[&Relay]) -> Option<Vec<u8>> {
    merge_awareness(relays.iter().map(|r| &r.payload[..]))
}

/// Appends the frames of `relays` not sent by `except` to `out`: runs of up to [`MERGE_MAX`]
/// small ones merged by `merge` into one frame each, a large one alone; when a merge fails,
/// its run goes out one frame per relay, as without batching.
fn frames(
    relays: &[Relay],
    except: Option<u64>,
    merge: fn(&[&Relay]) -> Option<Vec<u8>>,
    out: &mut Vec<Bytes>,
) {
    let mut run: Vec<&Relay> = Vec::new();
    let end_run = |run: &mut Vec<&Relay>, out: &mut Vec<Bytes>| {
        match run.as_slice() {
            [] => {}
            [one] => out.push(one.frame.clone()),
            many => match merge(many) {
                Some(frame) => out.push(Bytes::from(frame)),
                None => out.extend(many.iter().map(|r| r.frame.clone())),
            },
        }
        run.clear();
    };
    for relay in relays
        .iter()
        .filter(|r| except.is_none() || r.from != except)
    {
        if relay.payload.len() > MERGE_MAX_BYTES {
            end_run(&mut run, out);
            out.push(relay.frame.clone());
            continue;
        }
        run.push(relay);
        if run.len() == MERGE_MAX {
            end_run(&mut run, out);
        }
    }
    end_run(&mut run, out);
}

#[cfg(test)]
mod tests {
    use super::{Fanned, Relay, MERGE_MAX};
    use bytes::Bytes;
    use chatspace_crdt::codec::update_frame;
    use yrs::{Doc, Text, Transact};

    /// `n` updates, each typed by its own writer `from(i)`: each a new item at the start.
    fn updates(n: usize, from: impl Fn(usize) -> Option<u64>) -> Vec<Relay> {
        let doc = Doc::with_client_id(1);
        let text = doc.get_or_insert_text("colabspace");
        (0..n)
            .map(|i| {
                let raw = {
                    let mut txn = doc.transact_mut();
                    text.insert(&mut txn, 0, "x");
                    txn.encode_update_v1()
                };
                Relay {
                    from: from(i),
                    frame: Bytes::from(update_frame(&raw)),
                    payload: Bytes::from(raw),
                }
            })
            .collect()
    }

    #[test]
    fn readers_get_one_frame_and_a_writer_gets_what_others_wrote() {
        let batch = updates(6, |i| Some(1 + (i % 2) as u64));
        let fanned = Fanned::new(&batch, &[], |_| true);
        assert_eq!(fanned.frames_for(9).len(), 1, "a reader: one merged frame");
        // A writer whose three updates were the only others' gets exactly the others' three,
        // merged.
        let own = fanned.frames_for(1);
        assert_eq!(own.len(), 1);
        assert_ne!(own, fanned.frames_for(9));
        assert_ne!(own, fanned.frames_for(2));
    }

    #[test]
    fn a_lone_relay_goes_out_as_it_came_and_not_to_its_sender() {
        let batch = updates(1, |_| Some(4));
        let fanned = Fanned::new(&batch, &[], |_| true);
        assert_eq!(fanned.frames_for(5), [batch[0].frame.clone()]);
        assert!(fanned.frames_for(4).is_empty());
    }

    #[test]
    fn merged_runs_are_bounded() {
        let batch = updates(2 * MERGE_MAX + 1, |_| None);
        let fanned = Fanned::new(&batch, &[], |_| true);
        assert_eq!(fanned.frames_for(1).len(), 3);
    }
}

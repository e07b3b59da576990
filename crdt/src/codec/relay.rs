//! Merging what a busy room relays within one tick: several document updates become one update,
//! several awareness updates one awareness update that holds the latest entry of each client.
//! A reader applies the merged message to the same end as the messages it replaces: a merged
//! update is an ordinary Yjs update (yrs's `merge_updates_v1`, the port of Yjs's
//! `mergeUpdates`), and of an awareness client's entries a peer only keeps the latest anyway.

use super::lib0::{Reader, Writer};
use super::{framed, update_frame, MSG_AWARENESS};
use crate::guard;

/// One sync update frame holding every update of `updates` (Yjs v1 bytes), or `None` when yrs
/// does not decode one of them or panics merging them: the caller then relays them one by one.
/// The cost grows faster than the number of updates (the merge sorts its inputs for every
/// block it writes), so callers merge a bounded number at a time.
pub fn merge_updates<'a>(updates: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let merged = guard::catch(move || yrs::merge_updates_v1(updates))
        .ok()?
        .ok()?;
    Some(update_frame(&merged))
}

/// One entry of an awareness message, borrowed from its frame.
struct Entry<'a> {
    client: u64,
    clock: u64,
    /// The JSON text as sent (`null` for a removed client).
    json: &'a str,
}

impl Entry<'_> {
    fn removed(&self) -> bool {
        self.json.trim() == "null"
    }

    /// Whether a peer that knows `self` takes `next` (y-protocols `applyAwarenessUpdate`): a
    /// higher clock, or a removal with the same clock.
    fn replaced_by(&self, next: &Entry<'_>) -> bool {
        next.clock > self.clock || (next.clock == self.clock && next.removed())
    }
}

/// One awareness frame holding, for every client that `frames` (awareness messages, in the
/// order they would have been sent) mention, the entry a peer applying them in order would end
/// up with; clients in the order of their first mention. `None` when a frame is not an
/// awareness message (the caller then relays them one by one). The frames are the server's
/// own, already checked: states are not parsed again.
pub fn merge_awareness<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut latest: Vec<Entry<'a>> = Vec::new();
    for frame in frames {
        let mut outer = Reader::new(frame);
        if outer.var_u64().ok()? != MSG_AWARENESS {
            return None;
        }
        let mut r = Reader::new(outer.buf().ok()?);
        outer.finish().ok()?;
        let count = r.count(3).ok()?;
        for _ in 0..count {
            let entry = Entry {
                client: r.var_u64().ok()?,
                clock: r.var_u64().ok()?,
                json: r.string().ok()?,
            };
            match latest.iter_mut().find(|e| e.client == entry.client) {
                Some(known) if known.replaced_by(&entry) => *known = entry,
                Some(_) => {}
                None => latest.push(entry),
            }
        }
        r.finish().ok()?;
    }
    let size: usize = latest.iter().map(|e| e.json.len() + 24).sum();
    let mut update = Writer::with_capacity(size + 8);
    update.var_u64(latest.len() as u64);
    for entry in &latest {
        update
            .var_u64(entry.client)
            .var_u64(entry.clock)
            .string(entry.json);
    }
    Some(framed(&[MSG_AWARENESS], &update.into_vec()))
}

#[cfg(test)]
mod tests {
    use super::{merge_awareness, merge_updates};
    use crate::codec::client::{awareness_entries_frame, decode_server_frame, ServerMessage};
    use crate::codec::Limits;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, Text, Transact, Update};

    /// Updates of three writers, each typing in turn at the start of a shared text, and the text
    /// the room ends with.
    fn typing() -> (Vec<Vec<u8>>, String) {
        let room = Doc::with_client_id(1);
        let writers: Vec<Doc> = (10..13).map(Doc::with_client_id).collect();
        let mut updates = Vec::new();
        for round in 0..4 {
            for (i, writer) in writers.iter().enumerate() {
                let text = writer.get_or_insert_text("colabspace");
                let update = {
                    let mut txn = writer.transact_mut();
                    text.insert(&mut txn, 0, &format!("[{i}.{round}]"));
                    txn.encode_update_v1()
                };
                // Everyone sees everything before the next round: the edits depend on each other.
                for other in writers.iter().chain([&room]) {
                    let decoded = Update::decode_v1(&update).expect("decodes");
                    other.transact_mut().apply_update(decoded).expect("applies");
                }
                updates.push(update);
            }
        }
        let text = room.get_or_insert_text("colabspace");
        let end = text.get_string(&room.transact());
        (updates, end)
    }

    fn update_of(frame: &[u8]) -> Vec<u8> {
        match decode_server_frame(frame, &Limits::default()).expect("a server frame") {
            ServerMessage::Update(update) => update,
            other => panic!("not an update: {other:?}"),
        }
    }

    #[test]
    fn a_merged_update_brings_a_reader_to_the_same_text_as_the_updates_one_by_one() {
        let (updates, end) = typing();
        let frame = merge_updates(updates.iter().map(Vec::as_slice)).expect("merges");
        let reader = Doc::with_client_id(99);
        let decoded = Update::decode_v1(&update_of(&frame)).expect("decodes");
        reader
            .transact_mut()
            .apply_update(decoded)
            .expect("applies");
        let text = reader.get_or_insert_text("colabspace");
        assert_eq!(text.get_string(&reader.transact()), end);
        assert!(
            frame.len() < updates.iter().map(Vec::len).sum::<usize>(),
            "one header instead of twelve"
        );
    }

    #[test]
    fn updates_that_do_not_decode_are_not_merged() {
        let (updates, _) = typing();
        let broken = [updates[0].as_slice(), &[1, 1, 7]];
        assert_eq!(merge_updates(broken), None);
    }

    fn entries(frame: &[u8]) -> Vec<(u64, u64, Option<String>)> {
        match decode_server_frame(frame, &Limits::default()).expect("a server frame") {
            ServerMessage::Awareness(update) => update
                .entries
                .into_iter()
                .map(|e| (e.client_id.get(), e.clock, e.state))
                .collect(),
            other => panic!("not awareness: {other:?}"),
        }
    }

    #[test]
    fn merged_awareness_keeps_the_latest_entry_of_each_client() {
        let frames = [
            awareness_entries_frame(&[(7, 1, Some(r#"{"a":1}"#))]),
            awareness_entries_frame(&[(8, 4, Some(r#"{"b":1}"#)), (7, 2, Some(r#"{"a":2}"#))]),
            // Older than what came before: a peer would ignore it.
            awareness_entries_frame(&[(7, 1, Some(r#"{"a":0}"#))]),
            // A removal with the clock already known removes the state.
            awareness_entries_frame(&[(8, 4, None)]),
        ];
        let merged = merge_awareness(frames.iter().map(Vec::as_slice)).expect("merges");
        assert_eq!(
            entries(&merged),
            vec![(7, 2, Some(r#"{"a":2}"#.to_owned())), (8, 4, None)]
        );
    }

    #[test]
    fn a_frame_that_is_not_awareness_is_not_merged() {
        let (updates, _) = typing();
        let update = crate::codec::update_frame(&updates[0]);
        let awareness = awareness_entries_frame(&[(7, 1, None)]);
        assert_eq!(merge_awareness([awareness.as_slice(), &update]), None);
    }
}

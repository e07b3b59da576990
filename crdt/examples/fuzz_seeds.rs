//! Writes the seed inputs of the fuzz targets (`fuzz/seeds/<target>/`): frames of every message
//! type, and for the room targets sequences of updates a text client sends to the base room
//! (typing, deleting, concurrent edits, a whole state, keystrokes out of order), plus for the
//! old rules updates of other shapes and the vectors of `tests/fuzz_findings.rs`.
//!
//! ```sh
//! cargo run -p chatspace-crdt --example fuzz_seeds
//! ```

#[path = "../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

use chatspace_crdt::codec::client::{auth_frame, chat_send_frame, query_awareness_frame};
use chatspace_crdt::codec::{awareness_frame, sync_step1_frame, update_frame, AwarenessEntry};
use chatspace_crdt::codec::{sync_step2_frame, AwarenessUpdate};
use chatspace_crdt::yrs::updates::decoder::Decode;
use chatspace_crdt::yrs::{
    Array, ClientID, Doc, Map, ReadTxn, StateVector, Text, Transact, TransactionMut, Update,
};
use std::fs;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let text = text_seeds();
    let mut old_rules = text.clone();
    old_rules.extend(other_shapes());
    let typing = text[0].1.clone();
    let sets = [
        ("frames", frames(&typing)),
        ("room_apply", text.clone()),
        ("room_reload", text),
        ("room_apply_old_rules", old_rules),
    ];
    for (target, seeds) in sets {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        for (name, bytes) in seeds {
            fs::write(dir.join(name), bytes)?;
        }
    }
    println!("seeds written under {}", root.display());
    Ok(())
}

/// A client document holding the base room's state.
fn peer(id: u64) -> Doc {
    let doc = Doc::with_client_id(id);
    doc.get_or_insert_text("colabspace");
    apply(&doc, fuzz_harness::text_base());
    doc
}

fn apply(doc: &Doc, update: &[u8]) {
    let update = Update::decode_v1(update).expect("a seed decodes");
    doc.transact_mut()
        .apply_update(update)
        .expect("a seed applies");
}

/// The update of one transaction.
fn edit(doc: &Doc, f: impl FnOnce(&mut TransactionMut<'_>)) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    f(&mut txn);
    txn.commit();
    txn.encode_update_v1()
}

fn text_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let typist = peer(5);
    let text = typist.get_or_insert_text("colabspace");
    let keys: Vec<Vec<u8>> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, c)| edit(&typist, |txn| text.insert(txn, 7 + i as u32, c)))
        .collect();
    let delete = edit(&typist, |txn| text.remove_range(txn, 2, 5));
    let other = peer(6);
    let theirs = other.get_or_insert_text("colabspace");
    let concurrent = edit(&other, |txn| theirs.insert(txn, 7, "THEIRS"));
    apply(&other, &keys.concat_updates());
    let whole = other
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let join = fuzz_harness::join;
    vec![
        ("typing", join(&[&keys[0], &keys[1], &keys[2]])),
        ("typing-out-of-order", join(&[&keys[2], &keys[0], &keys[1]])),
        ("deleting", join(&[&keys[0], &delete])),
        ("concurrent", join(&[&keys[0], &concurrent, &keys[1]])),
        ("whole-state", join(&[&whole])),
    ]
}

/// Shapes a room stored before its schema may hold.
fn other_shapes() -> Vec<(&'static str, Vec<u8>)> {
    let doc = peer(7);
    let map = doc.get_or_insert_map("meta");
    let array = doc.get_or_insert_array("list");
    let text = doc.get_or_insert_text("colabspace");
    let set = edit(&doc, |txn| {
        map.insert(txn, "k", "v");
        array.insert_range(txn, 0, [1, 2]);
    });
    let bold = chatspace_crdt::yrs::types::Attrs::from([("bold".into(), true.into())]);
    let format = edit(&doc, |txn| text.format(txn, 1, 4, bold));
    let join = fuzz_harness::join;
    vec![
        ("map-and-array", join(&[&set])),
        ("format", join(&[&format, &set])),
        ("finding-breaks-encoding", join(&[BREAKS_ENCODING])),
        ("finding-crossed-origins", join(&[SNAPSHOT_CHANGES_TEXT])),
    ]
}

/// From `tests/fuzz_findings.rs` (see there).
const BREAKS_ENCODING: &[u8] = &[
    1, 2, 2, 117, 196, 1, 2, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];
const SNAPSHOT_CHANGES_TEXT: &[u8] = &[
    1, 2, 2, 0, 196, 1, 18, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];

fn frames(update: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let first = fuzz_harness::split(update)[0];
    let mut sv = StateVector::default();
    sv.set_max(ClientID::new(1), 30);
    let awareness = AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: ClientID::new(5),
            clock: 1,
            state: Some(r##"{"user":{"name":"ann","color":"#f00"}}"##.into()),
        }],
    };
    vec![
        ("step1", sync_step1_frame(&sv)),
        ("step2", sync_step2_frame(first)),
        ("update", update_frame(first)),
        ("awareness", awareness_frame(&awareness)),
        ("chat", chat_send_frame("c1", "hello")),
        ("query", query_awareness_frame()),
        ("auth", auth_frame(None)),
    ]
}

/// Keystrokes as one update, for a peer to catch up.
trait ConcatUpdates {
    fn concat_updates(&self) -> Vec<u8>;
}

impl ConcatUpdates for Vec<Vec<u8>> {
    fn concat_updates(&self) -> Vec<u8> {
        chatspace_crdt::yrs::merge_updates_v1(self).expect("keystrokes merge")
    }
}

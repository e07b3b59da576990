//! Helpers shared by the integration tests: deterministic client documents, update capture
//! and the delivery orders of three updates.
#![allow(dead_code)] // each test binary uses a different subset

use chatspace_crdt::codec::{decode_client_frame, ClientMessage};
use chatspace_crdt::{IncomingUpdate, Limits, RoomDoc, TEXT_NAME};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, TextRef, Transact, Update};

/// All six orders in which three updates can be delivered.
pub const PERMUTATIONS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// A client document with a fixed client id and its `colabspace` text.
pub fn client(id: u64) -> (Doc, TextRef) {
    let doc = Doc::with_client_id(id);
    let text = doc.get_or_insert_text(TEXT_NAME);
    (doc, text)
}

pub fn text_of(doc: &Doc, text: &TextRef) -> String {
    text.get_string(&doc.transact())
}

pub fn state_vector(doc: &Doc) -> StateVector {
    doc.transact().state_vector()
}

/// Everything in `doc` that a peer at `sv` lacks, as a v1 update.
pub fn diff(doc: &Doc, sv: &StateVector) -> Vec<u8> {
    doc.transact().encode_state_as_update_v1(sv)
}

/// The whole of `doc` as a v1 update.
pub fn full(doc: &Doc) -> Vec<u8> {
    diff(doc, &StateVector::default())
}

/// Bytes written as hex, as the reports and the reproducers in docs/reliability.md give them.
pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test hex"))
        .collect()
}

/// Applies v1 update bytes to a plain yrs document (test clients).
pub fn apply(doc: &Doc, update: &[u8]) {
    let update = Update::decode_v1(update).expect("test update decodes");
    doc.transact_mut()
        .apply_update(update)
        .expect("test update applies");
}

/// Runs `edit` in one transaction and returns the increment it produced, the way a browser
/// client produces one v1 update per transaction.
pub fn edit(doc: &Doc, edit: impl FnOnce(&mut yrs::TransactionMut<'_>)) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    edit(&mut txn);
    // Commit first, as yrs' update observers do, so the delete set is final.
    txn.commit();
    txn.encode_update_v1()
}

/// Appends `chars` to `text` one character per transaction, as a typist does; returns each
/// keystroke's update.
pub fn type_at_end(doc: &Doc, text: &TextRef, chars: &str) -> Vec<Vec<u8>> {
    chars
        .chars()
        .map(|c| edit(doc, |txn| text.push(txn, &c.to_string())))
        .collect()
}

pub fn incoming(update: &[u8]) -> IncomingUpdate {
    IncomingUpdate::check_v1(update.to_vec()).expect("test update passes the codec")
}

/// Decodes a client frame that must carry an update (step 2 or update).
pub fn incoming_from_frame(frame: &[u8]) -> IncomingUpdate {
    match decode_client_frame(frame, &Limits::default()).expect("frame decodes") {
        ClientMessage::SyncStep2(update) | ClientMessage::Update(update) => update,
        other => panic!("expected an update frame, got {other:?}"),
    }
}

/// A room loaded with `base` (a v1 update), as the server would hold it.
pub fn room_with(base: &[u8]) -> RoomDoc {
    let mut room = RoomDoc::new();
    room.apply_update(incoming(base)).expect("base applies");
    room
}

/// Three clients that share "hello world" and then edit concurrently: inserts at the same
/// position, overlapping deletes and edits at both ends. Returns the base update and the
/// three concurrent increments.
pub fn three_concurrent_edits() -> (Vec<u8>, [Vec<u8>; 3]) {
    let (d1, t1) = client(1);
    t1.push(&mut d1.transact_mut(), "hello world");
    let base = full(&d1);
    let (d2, t2) = client(2);
    let (d3, t3) = client(3);
    apply(&d2, &base);
    apply(&d3, &base);
    let u1 = edit(&d1, |txn| {
        t1.insert(txn, 5, "AAA");
        // "hello" + "AAA" + " world": delete "o" + "AAA" + " w" partly: overlaps client 2.
        t1.remove_range(txn, 4, 6);
    });
    let u2 = edit(&d2, |txn| {
        t2.insert(txn, 5, "BBB");
        t2.remove_range(txn, 2, 4);
    });
    let u3 = edit(&d3, |txn| {
        t3.insert(txn, 5, "CCC");
        t3.insert(txn, 0, ">>");
        t3.push(txn, "!");
    });
    (base, [u1, u2, u3])
}

//! Regression tests from fuzzing this crate (random mutations of valid updates applied to a
//! room, then snapshotted and reloaded). Each vector is an update that the structural checks
//! accept and that exposed a yrs 0.28.1 weakness; the room must stay usable and must never
//! store a snapshot that changes the document. The base document also holds a map, which a
//! client may no longer write, so it is loaded as stored data, and the vectors are applied as
//! a room stored before the schema holds them ([`Rules::Structure`]). Sent by a client today,
//! three of the four are refused.

mod common;

use chatspace_crdt::codec::preflight::Rules;
use chatspace_crdt::{
    encode_snapshot, ApplyError, DecodeError, IncomingUpdate, LoadError, RoomDoc, SnapshotError,
    SnapshotFormat,
};
use common::*;
use yrs::Text;

/// A room holding [`BASE`], as loaded from storage.
fn base_room() -> RoomDoc {
    RoomDoc::load(None, [BASE]).expect("the base loads")
}

/// Client 1 typed "hello world this is text" and set map `m` to {k: "v", n: 3}.
const BASE: &[u8] = &[
    1, 3, 1, 0, 4, 1, 10, 99, 111, 108, 97, 98, 115, 112, 97, 99, 101, 24, 104, 101, 108, 108, 111,
    32, 119, 111, 114, 108, 100, 32, 116, 104, 105, 115, 32, 105, 115, 32, 116, 101, 120, 116, 40,
    1, 1, 109, 1, 107, 1, 119, 1, 118, 40, 1, 1, 109, 1, 110, 1, 125, 3, 0,
];

/// Panics inside `apply_update` ("attempt to subtract with overflow", block_store.rs) in
/// builds with overflow checks; in builds without them it applies. It lists client 2 twice,
/// which clients may no longer do.
const PANICS_ON_APPLY: &[u8] = &[
    2, 2, 2, 0, 196, 1, 2, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 5, 2, 0, 4, 1, 10, 99, 111, 108,
    97, 98, 115, 112, 97, 99, 101, 3, 104, 101, 108, 129, 1, 2, 7, 132, 1, 9, 14, 100, 32, 116,
    104, 105, 115, 32, 105, 115, 32, 116, 101, 120, 116, 40, 1, 1, 109, 1, 107, 1, 119, 1, 118, 40,
    1, 1, 109, 1, 110, 1, 125, 3, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];

/// Applies, but leaves pending data that yrs cannot merge back: encoding the whole document
/// panics in `merge_pending_*`. Its first item (client 2 at clock 117) skips clocks the room
/// never saw: stock Yjs keeps it pending ("held this is text"), yrs integrates it out of order
/// ("helXYd this is text").
const BREAKS_ENCODING: &[u8] = &[
    1, 2, 2, 117, 196, 1, 2, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];

/// Applies with a right origin left of its origin; the live text and the text of its own
/// snapshot differ. Stock Yjs applies it to the same live text as yrs, and its own encoding of
/// the result loads to another text too. The schema cannot see this shape (it would need the
/// document's order of the two origins), so a client may still send it.
const SNAPSHOT_CHANGES_TEXT: &[u8] = &[
    1, 2, 2, 0, 196, 1, 18, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];

/// Applies; its v2 snapshot does not decode. Like [`BREAKS_ENCODING`], it skips clocks (client
/// 2 at clock 1): Yjs keeps it pending, yrs shows "helXd this is text".
const V2_SNAPSHOT_DOES_NOT_LOAD: &[u8] = &[
    1, 2, 2, 1, 196, 1, 2, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];

#[test]
fn an_update_that_makes_yrs_panic_is_refused_and_a_stored_copy_fails_to_load_cleanly() {
    assert!(matches!(
        IncomingUpdate::check_v1(PANICS_ON_APPLY.to_vec()),
        Err(DecodeError::MalformedUpdate(_))
    ));
    // It lists client 2 twice, which stored data may no longer do either (see below).
    let loaded = RoomDoc::load(None, [BASE, PANICS_ON_APPLY]);
    assert!(
        matches!(loaded, Err(LoadError::LogDecode { index: 1, .. })),
        "{loaded:?}"
    );
    assert_eq!(base_room().text(), "hello world this is text");
}

/// The room keeps working after `update`: it can still answer joiners, its log replays to
/// the same text, and a snapshot is either refused or faithful.
fn room_survives(update: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let mut room = base_room();
    let stored = IncomingUpdate::check_v1_with(update.to_vec(), Rules::Structure).expect("passes");
    let applied = room.apply_update(stored).expect("applies");
    assert!(!room.is_poisoned());
    room.answer_step1(&Default::default())
        .expect("a joiner still gets a step 2");
    let replayed = RoomDoc::load(None, [BASE, &applied.raw[..]]).expect("log replays");
    assert_eq!(
        replayed.text(),
        room.text(),
        "replaying the log is faithful"
    );
    let mut result = Ok(Vec::new());
    for format in [
        SnapshotFormat::V1,
        SnapshotFormat::V2,
        SnapshotFormat::V2Zstd,
    ] {
        match encode_snapshot(&room, format) {
            Ok(bytes) => {
                let loaded = RoomDoc::load(Some((&bytes, format)), [[0u8; 0]; 0]).expect("loads");
                assert_eq!(loaded.text(), room.text(), "{format:?}");
            }
            Err(e) => result = Err(e),
        }
    }
    result
}

#[test]
fn pending_data_yrs_cannot_merge_still_lets_joiners_sync_and_is_never_snapshotted() {
    let result = room_survives(BREAKS_ENCODING);
    if cfg!(debug_assertions) {
        assert!(result.is_err(), "the snapshot is refused: {result:?}");
    }
}

#[test]
fn a_snapshot_that_would_change_the_text_is_refused() {
    let result = room_survives(SNAPSHOT_CHANGES_TEXT);
    assert!(
        matches!(result, Err(SnapshotError::NotFaithful(_))),
        "{result:?}"
    );
}

#[test]
fn the_check_refuses_a_snapshot_that_would_change_the_text_on_another_thread_too() {
    // As the server makes snapshots: the room encodes, its writer checks on another thread.
    let mut room = base_room();
    let stored = IncomingUpdate::check_v1_with(SNAPSHOT_CHANGES_TEXT.to_vec(), Rules::Structure)
        .expect("passes");
    room.apply_update(stored).expect("applies");
    let unchecked = room
        .encode_unchecked_snapshot(SnapshotFormat::V2Zstd)
        .expect("encodes");
    let checked = std::thread::spawn(move || unchecked.check())
        .join()
        .expect("the check does not panic");
    assert!(
        matches!(checked, Err(SnapshotError::NotFaithful(_))),
        "{checked:?}"
    );
}

#[test]
fn a_v2_snapshot_that_would_not_load_is_refused() {
    let result = room_survives(V2_SNAPSHOT_DOES_NOT_LOAD);
    assert!(result.is_err(), "{result:?}");
}

/// Asserts that the room refuses `update` from a client because it does not follow on from
/// the room's clocks (its sender is closed with 1013 and resyncs).
fn refused_by_the_room(room: &mut RoomDoc, update: &[u8]) {
    let refused = room.apply_update(incoming(update));
    assert!(
        matches!(
            refused,
            Err(ApplyError::Undecodable(DecodeError::NotFollowingOn { .. }))
        ),
        "{refused:?}"
    );
}

/// A client sending either vector that skips clocks is refused by the room (close 4400), which
/// stays as it was.
#[test]
fn the_vectors_that_skip_clocks_are_refused_from_a_client() {
    for vector in [BREAKS_ENCODING, V2_SNAPSHOT_DOES_NOT_LOAD] {
        let mut room = base_room();
        refused_by_the_room(&mut room, vector);
        assert!(!room.is_poisoned());
        assert_eq!(room.text(), "hello world this is text");
    }
}

/// Found by fuzzing the old rules under AddressSanitizer (docs/reliability.md): client 1 listed
/// twice, a GC block at its next clock (11), then one at clock 3, inside the item "hello world".
/// yrs appends the second list to the first; its trimming of known blocks assumes a sorted
/// list, so the block at 3 reaches `BlockStore::push`, which overwrites the integrated item
/// with it and frees that item while the text still links it: `TextRef::get_string` then reads
/// freed memory. With the freed memory reused by the next item ([`REUSES_THE_FREED_ITEM`]) the
/// list becomes a cycle and the next conflict resolution ([`LOOPS_FOREVER`]) never ends.
const FREES_A_LINKED_ITEM: &[u8] = &[2, 1, 1, 11, 0, 1, 1, 1, 3, 0, 1, 0];

/// Client 2 types "a" at the start of the text (no origins, parent `colabspace`).
const REUSES_THE_FREED_ITEM: &[u8] = &[
    1, 1, 2, 0, 4, 1, 10, 99, 111, 108, 97, 98, 115, 112, 97, 99, 101, 1, 97, 0,
];

/// Client 3 types "b" at the start of the text.
const LOOPS_FOREVER: &[u8] = &[
    1, 1, 3, 0, 4, 1, 10, 99, 111, 108, 97, 98, 115, 112, 97, 99, 101, 1, 98, 0,
];

/// The update that frees a linked item is refused from a client and from storage (a room
/// stored with it fails to load cleanly instead of crashing the server), and the two that
/// would have turned it into a hang apply normally.
#[test]
fn the_update_that_frees_an_item_still_in_the_text_is_refused_everywhere() {
    let (doc, text) = client(1);
    let hello = edit(&doc, |txn| text.push(txn, "hello world"));
    // A client refuses it for its GC blocks already; stored data for listing client 1 twice.
    for (rules, why) in [(Rules::Text, "GC"), (Rules::Structure, "twice")] {
        let refused = IncomingUpdate::check_v1_with(FREES_A_LINKED_ITEM.to_vec(), rules);
        assert!(
            matches!(refused, Err(DecodeError::MalformedUpdate(ref e)) if e.contains(why)),
            "{rules:?}: {refused:?}"
        );
    }
    let loaded = RoomDoc::load(None, [&hello[..], FREES_A_LINKED_ITEM]);
    assert!(
        matches!(loaded, Err(LoadError::LogDecode { index: 1, .. })),
        "{loaded:?}"
    );
    let mut room = room_with(&hello);
    for update in [REUSES_THE_FREED_ITEM, LOOPS_FOREVER] {
        room.apply_update(incoming(update)).expect("applies");
        apply(&doc, update);
    }
    assert_eq!(room.text(), text_of(&doc, &text));
    assert_eq!(room.text().replace(['a', 'b'], ""), "hello world");
}

/// Found by fuzzing the old rules under AddressSanitizer (docs/reliability.md), on a document
/// where client 1 typed "hello world" (clocks 0 to 10): client 1's content at clock 20 leaves
/// yrs a hole at 11..20; a later item of client 1 over the hole's far edge (clocks 15..21) is
/// split by yrs's trimming of known blocks, which then frees the right half while the left half
/// still points at it, and integrating the left half reads freed memory. A client's updates can
/// no longer leave a hole: the first is refused (it does not follow on, and does not wait for
/// its predecessor), and so is the second.
#[test]
fn content_that_would_leave_a_hole_is_refused() {
    let (doc, text) = client(1);
    let hello = edit(&doc, |txn| text.push(txn, "hello world"));
    let mut room = room_with(&hello);
    // "x" at clock 20 after "h" (not its own predecessor, so it would not wait), then "abcdef"
    // at clock 15, parent `colabspace`.
    let ahead: &[u8] = &[1, 1, 1, 20, 0x84, 1, 0, 1, b'x', 0];
    let mut over_the_edge = vec![1, 1, 1, 15, 4, 1, 10];
    over_the_edge.extend(b"colabspace");
    over_the_edge.extend([6, b'a', b'b', b'c', b'd', b'e', b'f', 0]);
    for update in [ahead, &over_the_edge[..]] {
        refused_by_the_room(&mut room, update);
    }
    assert_eq!(room.text(), "hello world");
    assert!(!room.is_poisoned());
}

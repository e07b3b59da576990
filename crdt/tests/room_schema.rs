//! The room's schema: a client may write plain text to the `colabspace` root and nothing else.
//! Each refused shape here was once accepted, stored and relayed, and broke its room: the log
//! no longer loaded, or the stock Yjs client threw on the server's sync step 2 (so every new
//! client saw an empty document), or stopped emitting updates.

mod common;

use chatspace_crdt::codec::lib0::Writer;
use chatspace_crdt::{ApplyError, DecodeError, IncomingUpdate, RoomDoc, SnapshotFormat};
use common::*;
use yrs::{Doc, Text, Transact};

fn refused(bytes: Vec<u8>) -> String {
    match IncomingUpdate::check_v1(bytes) {
        Err(DecodeError::MalformedUpdate(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// One client's one string item: `info` (origin flags | content), the ids of its origins,
/// and for an item without origins the root it names.
fn item(client: u64, clock: u64, origin: Option<(u64, u64)>, right: Option<(u64, u64)>) -> Vec<u8> {
    let mut out = Writer::default();
    out.var_u64(1).var_u64(1).var_u64(client).var_u64(clock);
    let info = 4 | if origin.is_some() { 0x80 } else { 0 } | if right.is_some() { 0x40 } else { 0 };
    out.raw(&[info]);
    for (c, k) in origin.into_iter().chain(right) {
        out.var_u64(c).var_u64(k);
    }
    if origin.is_none() && right.is_none() {
        out.var_u64(1).string("colabspace");
    }
    out.string("x").var_u64(0);
    out.into_vec()
}

/// The three updates of a hostile client that once made a room unloadable: accepted live and
/// stored, they could not be replayed from the log ("block parent ... must be deleted or
/// shared ref type"). A room holding ordinary text refuses the two that write elsewhere than
/// the text, and what it did accept loads back to the same text.
#[test]
fn the_updates_that_made_a_room_unloadable_are_refused_and_the_room_reloads() {
    let (doc, text) = client(1);
    let base = edit(&doc, |txn| text.push(txn, "ordinary text"));
    let mut room = room_with(&base);
    let mut stored = vec![base];
    for (payload, accepted) in [
        ("0001dc36010059", true),
        ("0101dc360008010161037d247701617601017875027d017d0200", false),
        (
            "0104dc3600010101610188dc3600027701617601017875027d017d0287dc3602012800dc3601016b0177017601dc36010001",
            false,
        ),
    ] {
        let bytes = hex(payload);
        match IncomingUpdate::check_v1(bytes.clone()) {
            Ok(update) => {
                assert!(accepted, "{payload} passed");
                room.apply_update(update).expect("applies");
                stored.push(bytes);
            }
            Err(error) => assert!(!accepted, "{payload}: {error}"),
        }
    }
    let reloaded = RoomDoc::load(None, &stored).expect("the stored log loads");
    assert_eq!(reloaded.text(), "ordinary text");
    assert_eq!(room.text(), "ordinary text");
}

#[test]
fn only_the_colabspace_root_may_be_written() {
    let mut other_root = item(5, 0, None, None);
    other_root[6] = 5; // the root name's length: "colab"
    other_root.drain(12..17);
    assert_eq!(
        refused(other_root),
        "only the colabspace text may be written to"
    );
    // Parent given as an item id (a nested type's items) instead of a root name.
    let mut by_id = vec![1, 1, 5, 0, 4, 0, 7, 3];
    by_id.extend([1, b'x', 0]);
    assert_eq!(refused(by_id), "only the colabspace text may be written to");
    assert!(IncomingUpdate::check_v1(item(5, 0, None, None)).is_ok());
}

#[test]
fn types_embeds_formats_and_parent_keys_are_refused() {
    // Content references: JSON 2, binary 3, embed 5, format 6, type 7 (also refs 9 and 15
    // inside the text), any 8, doc 9; and a string item with the parent-key bit set.
    for info in [2u8, 3, 5, 6, 7, 8, 9, 0x24, 0x14] {
        let mut update = item(5, 0, None, None);
        update[4] = info;
        assert_eq!(
            refused(update),
            "only text may be written to the room's document",
            "info {info:#x}"
        );
    }
}

#[test]
fn an_item_whose_origin_is_itself_or_later_is_refused() {
    // Stock Yjs throws on these while integrating, abandoning the rest of the update.
    for (origin, right) in [
        (Some((5, 3)), None),
        (None, Some((5, 3))),
        (Some((5, 9)), None),
        (Some((5, 2)), Some((5, 4))),
    ] {
        assert_eq!(
            refused(item(5, 3, origin, right)),
            "an item's origin is itself or comes after it",
            "{origin:?} {right:?}"
        );
    }
    assert!(IncomingUpdate::check_v1(item(5, 3, Some((5, 2)), Some((6, 9)))).is_ok());
}

#[test]
fn an_item_with_the_same_item_on_both_sides_is_refused() {
    // Found by fuzzing (fuzz/findings/room_reload): yrs placed such an item differently
    // depending on what it integrated in the same transaction, so the log no longer replayed
    // to the text the room had shown.
    assert_eq!(
        refused(item(5, 3, Some((2, 7)), Some((2, 7)))),
        "an item's left and right origins are the same item"
    );
    assert!(IncomingUpdate::check_v1(item(5, 3, Some((2, 7)), Some((2, 8)))).is_ok());
}

#[test]
fn an_origin_is_compared_with_its_item_clock_in_utf16_units() {
    // A two-byte character is one clock tick: the second item of client 5 starts at clock 1,
    // so an origin at clock 1 is the item itself.
    let mut update = vec![1, 2, 5, 0];
    update.extend([4, 1, 10]);
    update.extend(b"colabspace");
    update.extend([2, 0xc3, 0xa9]); // "é"
    update.extend([0x84, 5, 1, 1, b'x', 0]);
    assert_eq!(
        refused(update),
        "an item's origin is itself or comes after it"
    );
}

#[test]
fn blocks_and_ranges_that_cover_nothing_are_refused() {
    // A deleted item of length 0 (Yjs throws in its transaction cleanup).
    let mut deleted = item(5, 0, None, None);
    let at = deleted.len() - 3;
    deleted.splice(at.., [0, 0]);
    deleted[4] = 1;
    assert_eq!(refused(deleted), "deleted content of length 0");
    let mut empty = item(5, 0, None, None);
    let at = empty.len() - 3;
    empty.splice(at.., [0, 0]);
    assert_eq!(refused(empty), "an empty string");
    assert_eq!(
        refused(vec![1, 1, 5, 0, 10, 0, 0]),
        "a skip block of length 0"
    );
    assert_eq!(
        refused(vec![0, 1, 5, 1, 3, 0]),
        "a deleted range of length 0"
    );
}

#[test]
fn a_client_listed_twice_in_one_update_is_refused() {
    // Two sections of one skip block each.
    let mut structs = vec![2, 1, 5, 0, 10, 1, 1, 5, 1, 10, 1, 0];
    assert_eq!(
        refused(structs.clone()),
        "a client appears twice in one update"
    );
    structs[7] = 6;
    assert!(IncomingUpdate::check_v1(structs).is_ok());
    assert_eq!(
        refused(vec![0, 2, 5, 1, 0, 1, 5, 1, 4, 1]),
        "a client appears twice in one delete set"
    );
}

#[test]
fn clocks_that_overflow_32_bits_are_refused() {
    let mut update = vec![1, 2, 5];
    update.extend([0xfe, 0xff, 0xff, 0xff, 0x0f]); // clock u32::MAX - 1
    update.extend([10, 1, 10, 2]); // skip of 1, then skip of 2
    update.push(0);
    assert_eq!(refused(update), "clock overflows 32 bits");
}

/// Everything a text client sends passes: typing, deleting, concurrent edits, and the whole
/// state of a document whose deleted text was garbage-collected (deleted content), as an
/// offline client's sync step 2 carries it.
#[test]
fn what_text_clients_write_passes() {
    let (base, concurrent) = three_concurrent_edits();
    for update in std::iter::once(&base).chain(&concurrent) {
        IncomingUpdate::check_v1(update.clone()).expect("a text client's update passes");
    }
    let doc = Doc::with_client_id(9);
    let text = doc.get_or_insert_text("colabspace");
    text.push(&mut doc.transact_mut(), "emoji 😀 and accents éè, typed");
    text.remove_range(&mut doc.transact_mut(), 2, 12);
    text.insert(&mut doc.transact_mut(), 3, "more 😀");
    for update in [&base, &concurrent[0], &concurrent[1], &concurrent[2]] {
        apply(&doc, update);
    }
    let whole = full(&doc);
    let mut room = RoomDoc::new();
    room.apply_update(IncomingUpdate::check_v1(whole).expect("passes"))
        .expect("applies");
    assert_eq!(room.text(), text_of(&doc, &text));
    let snapshot = room.encode_state_as_update_v1().expect("encodes");
    let loaded = RoomDoc::load(Some((&snapshot, SnapshotFormat::V1)), [[0u8; 0]; 0]);
    assert_eq!(loaded.expect("loads").text(), room.text());
}

/// GC blocks: deleted text stays an item with deleted content in Yjs and yrs (only the
/// children of a deleted nested type are collected), and Yjs drops an item whose origin is a
/// GC block where yrs shows it, so the texts would differ (found by the differential check
/// against stock Yjs).
#[test]
fn gc_blocks_are_refused() {
    for len in [0, 1, 12] {
        assert_eq!(
            refused(vec![1, 1, 5, 0, 0, len, 0]),
            "a GC block (text clients write none)"
        );
    }
}

/// Found by the differential check against stock Yjs: a block whose own client's earlier
/// clocks the room has not seen. Yjs keeps it pending; yrs integrated it at once, out of
/// order, so the server's text (and every joiner's) differed from the clients'. Worse, when
/// its real owner's typing reached that clock, yrs mixed the two: another user could scramble
/// a typist's text in the stored document. The room refuses it now.
#[test]
fn an_item_ahead_of_its_clients_clock_is_refused_and_cannot_scramble_later_typing() {
    let (doc, text) = client(1);
    let keystrokes: Vec<Vec<u8>> = (0..30)
        .map(|i| edit(&doc, |txn| text.push(txn, &format!("w{i:02} "))))
        .collect();
    let mut room = room_with(&keystrokes[0]);
    // Client 1's "X" at clock 100, after its first character: only a forger writes that.
    let forged = vec![1, 1, 1, 100, 0x84, 1, 0, 1, b'X', 0];
    let result = room.apply_update(IncomingUpdate::check_v1(forged).expect("passes the schema"));
    assert!(
        matches!(
            result,
            Err(ApplyError::Undecodable(DecodeError::NotFollowingOn {
                client: 1,
                needs: 100,
                ..
            }))
        ),
        "{result:?}"
    );
    for keystroke in &keystrokes[1..] {
        room.apply_update(incoming(keystroke))
            .expect("typing applies");
    }
    assert_eq!(room.text(), text_of(&doc, &text));
}

/// The same hole behind a skip block inside one section: the content after the skip must
/// follow on from what the room has.
#[test]
fn content_after_a_skip_the_room_cannot_fill_is_refused() {
    let (doc, text) = client(1);
    let first = edit(&doc, |txn| text.push(txn, "ab"));
    let mut room = room_with(&first);
    // Client 2: skip 0..3, then "x" at clock 3 after client 1's "a".
    let behind_skip = vec![1, 2, 2, 0, 10, 3, 0x84, 1, 0, 1, b'x', 0];
    let result = room.apply_update(IncomingUpdate::check_v1(behind_skip).expect("passes"));
    assert!(
        matches!(result, Err(ApplyError::Undecodable(_))),
        "{result:?}"
    );
    assert_eq!(room.text(), "ab");
}

/// What a stock client may legitimately send out of order still waits for its predecessors:
/// a keystroke whose origin is its own previous keystroke (yrs holds it pending, as Yjs does),
/// and a whole state whose pending part follows a skip.
#[test]
fn a_keystroke_that_waits_for_its_own_predecessor_is_accepted() {
    let (doc, text) = client(7);
    let steps = type_at_end(&doc, &text, "abc");
    let mut room = RoomDoc::new();
    room.apply_update(incoming(&steps[2])).expect("waits");
    let waiting = room.encode_state_as_update_v1().expect("encodes");
    let mut other = RoomDoc::new();
    other
        .apply_update(incoming(&waiting))
        .expect("a state with a skip waits too");
    for room in [&mut room, &mut other] {
        assert_eq!(room.text(), "");
        for step in &steps[..2] {
            room.apply_update(incoming(step)).expect("applies");
        }
        assert_eq!(room.text(), "abc");
    }
}

/// Only integrated content counts: a keystroke whose own predecessor is still waiting, and
/// that does not itself wait for it (typed elsewhere in the text), is refused, also in a room
/// loaded from storage. yrs would integrate it out of order and leave a hole (Yjs keeps it
/// pending), and an update over the edge of a hole can make yrs free an item it still uses.
#[test]
fn a_keystroke_ahead_of_a_waiting_predecessor_is_refused() {
    let (doc, text) = client(7);
    let mut steps = type_at_end(&doc, &text, "abc");
    // Clock 3, typed at the start: no origin of its own client.
    steps.push(edit(&doc, |txn| text.insert(txn, 0, "Z")));
    let live = {
        let mut room = RoomDoc::new();
        room.apply_update(incoming(&steps[2])).expect("waits");
        room
    };
    let loaded = RoomDoc::load(None, [&steps[2]]).expect("loads");
    for mut room in [live, loaded] {
        assert!(room.has_missing_updates());
        let refused = room.apply_update(incoming(&steps[3]));
        assert!(
            matches!(refused, Err(ApplyError::Undecodable(_))),
            "{refused:?}"
        );
        for step in &steps[..2] {
            room.apply_update(incoming(step)).expect("applies");
        }
        assert_eq!(room.text(), "abc");
        room.apply_update(incoming(&steps[3]))
            .expect("now it follows on");
        assert_eq!(room.text(), text_of(&doc, &text));
    }
}

/// Three updates that made yrs segfault in `integrate_item`: the first writes past a skip, which
/// yrs integrates out of order (docs/reliability.md). The room refuses it, so the others find
/// nothing to corrupt.
#[test]
fn a_skip_then_content_that_would_segfault_yrs_is_refused() {
    let updates = [
        "0104010004010a636f6c61627370616365016104010a636f6c616273706163650262630a028401000361626300",
        "020209004401060178440105027878010b024401010278780101010101",
        "01030b00440107017804010a636f6c6162737061636502787801010a636f6c616273706163650100",
    ];
    let mut room = RoomDoc::new();
    for (n, update) in updates.iter().enumerate() {
        let result = IncomingUpdate::check_v1(hex(update)).map(|u| room.apply_update(u));
        if n == 0 {
            assert!(
                matches!(result, Err(_) | Ok(Err(_))),
                "the content past the skip is refused: {result:?}"
            );
        }
        assert!(!room.is_poisoned());
    }
    let _ = (room.text(), room.encode_state_as_update_v1());
}

//! Restoring an earlier text with ordinary edits, and the differences between two texts.

mod common;

use chatspace_crdt::history::{changes, edits_to, text_of, Change, HistoryError};
use chatspace_crdt::ClientID;
use common::{client, edit, full, incoming, room_with, text_of as client_text};
use yrs::Text;

/// A room whose text was typed as `text` by client 1, and that text's state.
fn room_holding(text: &str) -> (chatspace_crdt::RoomDoc, Vec<u8>) {
    let (doc, t) = client(1);
    edit(&doc, |txn| t.push(txn, text));
    let state = full(&doc);
    (room_with(&state), state)
}

#[test]
fn the_edits_turn_the_room_text_into_the_earlier_one_through_the_ordinary_checks() {
    let (mut room, state) = room_holding("the quick brown fox jumps over the lazy dog");
    let target = "the slow brown fox naps under the lazy cat 🦊";
    let update = edits_to(&state, target, ClientID::new(77))
        .expect("the state reads")
        .expect("the texts differ");
    room.apply_update(incoming(&update))
        .expect("the restore passes the room's checks and applies");
    assert_eq!(room.text(), target);
}

#[test]
fn a_restore_keeps_what_others_typed_concurrently() {
    let (doc, t) = client(1);
    edit(&doc, |txn| t.push(txn, "draft one\n"));
    let old = full(&doc);
    edit(&doc, |txn| t.insert(txn, 6, "ONE"));
    edit(&doc, |txn| t.remove_range(txn, 9, 3));
    let current = full(&doc);
    let mut room = room_with(&current);
    assert_eq!(room.text(), "draft ONE\n");
    // Someone appends while the restore is computed from the state before their edit.
    let typed = edit(&doc, |txn| t.push(txn, "and more"));
    let restore = edits_to(&current, &text_of(&old).expect("reads"), ClientID::new(78))
        .expect("the state reads")
        .expect("the texts differ");
    room.apply_update(incoming(&typed))
        .expect("the typing applies");
    room.apply_update(incoming(&restore))
        .expect("the restore applies");
    assert_eq!(room.text(), "draft one\nand more");
    // The typist receives the restore and converges.
    common::apply(&doc, &restore);
    assert_eq!(client_text(&doc, &t), room.text());
}

#[test]
fn restoring_the_text_saved_before_a_restore_gives_it_back_exactly() {
    let (mut room, _) = room_holding("line 1\nline 2 — ünïcødé\r\nline 3\n");
    let before = room.text();
    let state = room.encode_state_as_update_v1().expect("encodes");
    let restore = edits_to(&state, "something else entirely", ClientID::new(79))
        .expect("reads")
        .expect("differs");
    room.apply_update(incoming(&restore)).expect("applies");
    let state = room.encode_state_as_update_v1().expect("encodes");
    let undo = edits_to(&state, &before, ClientID::new(80))
        .expect("reads")
        .expect("differs");
    room.apply_update(incoming(&undo)).expect("applies");
    assert_eq!(room.text(), before);
}

#[test]
fn nothing_to_restore_when_the_texts_are_equal() {
    let (_, state) = room_holding("same");
    assert_eq!(edits_to(&state, "same", ClientID::new(81)), Ok(None));
}

#[test]
fn a_state_that_does_not_decode_is_an_error() {
    assert!(matches!(
        text_of(&[0xff, 0xff, 0xff]),
        Err(HistoryError::Undecodable(_))
    ));
}

#[test]
fn changes_are_runs_of_words() {
    assert_eq!(
        changes("the quick brown fox", "the slow brown fox jumps"),
        vec![
            Change::Same("the ".into()),
            Change::Deleted("quick".into()),
            Change::Inserted("slow".into()),
            Change::Same(" brown fox".into()),
            Change::Inserted(" jumps".into()),
        ]
    );
    assert_eq!(changes("", ""), Vec::<Change>::new());
}

proptest::proptest! {
    /// Whatever the two texts (any script, emoji, line ends), the edits turn one into the other.
    #[test]
    fn the_edits_reach_any_target(old in "\\PC{0,40}", target in "[\\PC\r\n]{0,40}") {
        let (mut room, state) = room_holding(&old);
        if let Some(update) = edits_to(&state, &target, ClientID::new(90)).expect("reads") {
            room.apply_update(incoming(&update)).expect("applies");
        }
        proptest::prop_assert_eq!(room.text(), target);
    }
}

/// Replays `ops` on `old` as the page does, on UTF-16 units.
fn apply_ops(old: &str, ops: &[chatspace_crdt::history::EditOp]) -> String {
    use chatspace_crdt::history::EditOp;
    let units: Vec<u16> = old.encode_utf16().collect();
    let (mut out, mut at) = (Vec::new(), 0);
    for op in ops {
        match op {
            EditOp::Retain(n) => {
                out.extend_from_slice(&units[at..at + n]);
                at += n;
            }
            EditOp::Delete(n) => at += n,
            EditOp::Insert(text) => out.extend(text.encode_utf16()),
        }
    }
    out.extend_from_slice(&units[at..]);
    String::from_utf16(&out).expect("valid UTF-16")
}

#[test]
fn edit_ops_count_utf16_units_and_leave_out_the_trailing_retain() {
    use chatspace_crdt::history::{edit_ops, EditOp};
    assert_eq!(
        edit_ops("a🦊b tail", "a🦊Xb tail"),
        vec![EditOp::Retain(3), EditOp::Insert("X".into())]
    );
    assert_eq!(edit_ops("same", "same"), Vec::<EditOp>::new());
}

proptest::proptest! {
    #[test]
    fn edit_ops_turn_one_text_into_the_other(old in "[\\PC\r\n]{0,40}", new in "[\\PC\r\n]{0,40}") {
        let ops = chatspace_crdt::history::edit_ops(&old, &new);
        proptest::prop_assert_eq!(apply_ops(&old, &ops), new);
    }
}

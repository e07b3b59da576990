//! Updates that pass the structural check but that yrs will not decode (here: text that is not
//! UTF-8, which the check leaves to yrs). The room task decodes each update just before
//! applying it, so such an update is refused there, alone: the updates around it in its batch
//! still apply, the document is not poisoned, and the caller learns whose update it was.

mod common;

use chatspace_crdt::codec::prepare_batch;
use chatspace_crdt::{ApplyError, DecodeError, IncomingUpdate, RoomDoc};
use common::*;
use yrs::Text;

/// `update` (one typed character, as a client sends it) with that character's byte replaced
/// by one that cannot start a UTF-8 sequence. A typed character's update ends with the
/// character and an empty delete set.
fn with_broken_text(update: &[u8]) -> IncomingUpdate {
    let mut bytes = update.to_vec();
    let at = bytes.len() - 2;
    bytes[at] = 0xff;
    IncomingUpdate::check_v1(bytes).expect("the structure is intact")
}

#[test]
fn an_update_yrs_cannot_decode_is_refused_and_the_rest_of_its_batch_applies() {
    let (alice, alice_text) = client(1);
    let (bob, bob_text) = client(2);
    let first = edit(&alice, |txn| alice_text.push(txn, "ab"));
    let broken = edit(&bob, |txn| bob_text.push(txn, "x"));
    let last = edit(&alice, |txn| alice_text.push(txn, "c"));
    let mut room = RoomDoc::new();
    let outcome = room.apply_updates([
        ("alice", incoming(&first)),
        ("bob", with_broken_text(&broken)),
        ("alice", incoming(&last)),
    ]);
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    let applied: Vec<(&str, &[u8])> = outcome
        .applied
        .iter()
        .map(|a| (a.tag, &a.raw[..]))
        .collect();
    assert_eq!(applied, vec![("alice", &first[..]), ("alice", &last[..])]);
    assert_eq!(outcome.refused.len(), 1);
    assert_eq!(outcome.refused[0].tag, "bob");
    assert!(matches!(
        outcome.refused[0].error,
        DecodeError::MalformedUpdate(_)
    ));
    assert!(!room.is_poisoned());
    assert_eq!(room.text(), "abc");
}

#[test]
fn a_lone_update_yrs_cannot_decode_changes_nothing() {
    let (doc, text) = client(3);
    let base = edit(&doc, |txn| text.push(txn, "kept"));
    let broken = edit(&doc, |txn| text.push(txn, "!"));
    let mut room = room_with(&base);
    let result = room.apply_update(with_broken_text(&broken));
    assert!(
        matches!(result, Err(ApplyError::Undecodable(_))),
        "{result:?}"
    );
    assert!(!room.is_poisoned());
    assert_eq!(room.text(), "kept");
    // The genuine keystroke still applies afterwards.
    room.apply_update(incoming(&broken)).expect("applies");
    assert_eq!(room.text(), "kept!");
}

/// Coalescing only merges keystrokes whose text is UTF-8 (`Mergeable::parse` reads it as a
/// string), so a broken one stays apart and takes nothing else down with it.
#[test]
fn a_typing_run_with_a_broken_keystroke_is_not_merged_and_only_that_keystroke_is_refused() {
    let (doc, text) = client(4);
    let keystrokes = type_at_end(&doc, &text, "abc");
    let batch = vec![
        (7, incoming(&keystrokes[0])),
        (7, incoming(&keystrokes[1])),
        (7, with_broken_text(&keystrokes[2])),
    ];
    let mut room = RoomDoc::new();
    let outcome = room.apply_updates(prepare_batch(batch));
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    let refused: Vec<u32> = outcome.refused.iter().map(|r| r.tag).collect();
    assert_eq!(refused, vec![7], "the broken keystroke alone");
    assert_eq!(room.text(), "ab", "the keystrokes before it are in");
    assert!(!room.is_poisoned());
}

//! Coalescing a typist's queued keystrokes: fewer updates, the same document everywhere, for
//! the room that applies them and for peers that get the merged updates relayed.

mod common;

use chatspace_crdt::codec::coalesce_typing;
use chatspace_crdt::{IncomingUpdate, RoomDoc};
use common::*;
use proptest::prelude::*;
use yrs::{Doc, ReadTxn, Text, Transact};

/// yrs's offset (UTF-8 bytes) of the character at `index` (a count of characters).
fn offset(doc: &Doc, text: &yrs::TextRef, index: u32) -> u32 {
    let s = text_of(doc, text);
    let bytes: usize = s.chars().take(index as usize).map(char::len_utf8).sum();
    bytes as u32
}

/// One keystroke per transaction, as a browser sends them, starting at character `at`; each
/// returns its update.
fn type_chars(doc: &Doc, text: &yrs::TextRef, at: u32, chars: &str) -> Vec<Vec<u8>> {
    let mut at = offset(doc, text, at);
    chars
        .chars()
        .map(|c| {
            let update = edit(doc, |txn| text.insert(txn, at, &c.to_string()));
            at += c.len_utf8() as u32;
            update
        })
        .collect()
}

/// `count` presses of backspace with the cursor after character `from`.
fn backspaces(doc: &Doc, text: &yrs::TextRef, from: u32, count: u32) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let start = offset(doc, text, from - i - 1);
            let end = offset(doc, text, from - i);
            edit(doc, |txn| text.remove_range(txn, start, end - start))
        })
        .collect()
}

/// Applies `updates` (sender, v1 bytes) to a new room after coalescing them; returns the room
/// and the updates it would store and relay.
fn coalesced_room(updates: &[(u64, Vec<u8>)]) -> (RoomDoc, Vec<(u64, Vec<u8>)>) {
    let batch: Vec<(u64, IncomingUpdate)> =
        updates.iter().map(|(k, u)| (*k, incoming(u))).collect();
    let merged: Vec<(u64, Vec<u8>)> = coalesce_typing(batch)
        .into_iter()
        .map(|(k, u)| (k, u.into_raw().to_vec()))
        .collect();
    let mut room = RoomDoc::new();
    let outcome = room.apply_updates(merged.iter().map(|(k, u)| (*k, incoming(u))));
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.applied.len(), merged.len());
    (room, merged)
}

#[test]
fn a_typed_word_and_its_backspaces_go_in_as_two_updates_with_the_same_result() {
    let (doc, text) = client(21);
    let mut updates = type_chars(&doc, &text, 0, "hello wrold");
    updates.extend(backspaces(&doc, &text, 11, 4));
    updates.extend(type_chars(&doc, &text, 7, "orld"));
    let sent: Vec<(u64, Vec<u8>)> = updates.into_iter().map(|u| (1, u)).collect();

    let (room, merged) = coalesced_room(&sent);
    assert_eq!(merged.len(), 3, "typing, backspacing, typing");
    assert_eq!(room.text(), "hello world");
    assert_eq!(room.state_vector(), state_vector(&doc));

    // A peer that gets the merged updates relayed ends with the typist's document.
    let (peer, peer_text) = client(22);
    for (_, update) in &merged {
        apply(&peer, update);
    }
    assert_eq!(text_of(&peer, &peer_text), "hello world");
    assert_eq!(
        full(&peer),
        full(&doc),
        "the same items, origins and deletions"
    );
}

#[test]
fn updates_of_different_senders_are_never_merged() {
    let (doc, text) = client(23);
    let updates = type_chars(&doc, &text, 0, "abcd");
    // The same client's keystrokes arriving on two connections (say, before and after a
    // reconnect) stay apart: each sender's updates are relayed to everyone but that sender.
    let sent: Vec<(u64, Vec<u8>)> = updates
        .into_iter()
        .enumerate()
        .map(|(i, u)| (if i < 2 { 1 } else { 2 }, u))
        .collect();
    let (room, merged) = coalesced_room(&sent);
    let senders: Vec<u64> = merged.iter().map(|(k, _)| *k).collect();
    assert_eq!(senders, [1, 2]);
    assert_eq!(room.text(), "abcd");
}

#[test]
fn keystrokes_that_do_not_continue_each_other_stay_apart() {
    let (doc, text) = client(24);
    let mut updates = type_chars(&doc, &text, 0, "ac");
    // The cursor moves back between the two: "b" goes between "a" and "c".
    updates.extend(type_chars(&doc, &text, 1, "b"));
    // Nor does a jump to the start of the text.
    updates.extend(type_chars(&doc, &text, 0, "!"));
    let sent: Vec<(u64, Vec<u8>)> = updates.into_iter().map(|u| (1, u)).collect();
    let (room, merged) = coalesced_room(&sent);
    assert_eq!(merged.len(), 3, "\"ac\", \"b\" and \"!\"");
    assert_eq!(room.text(), "!abc");
    assert_eq!(room.state_vector(), state_vector(&doc));
}

#[test]
fn a_concurrent_insert_inside_a_merged_run_lands_where_it_would_have() {
    // The typist types "xyz" after "ab"; meanwhile a second client, who had "ab" and "x",
    // types "Q" right after "x". Applied one keystroke at a time or as one run, the result is
    // the same.
    let (typist, t) = client(5);
    let base = edit(&typist, |txn| t.insert(txn, 0, "ab"));
    let keys = type_chars(&typist, &t, 2, "xyz");
    let (other, o) = client(3);
    apply(&other, &base);
    apply(&other, &keys[0]);
    let q = edit(&other, |txn| o.insert(txn, 3, "Q"));

    let mut one_by_one = room_with(&base);
    for key in &keys {
        one_by_one.apply_update(incoming(key)).expect("applies");
    }
    one_by_one.apply_update(incoming(&q)).expect("applies");

    let sent: Vec<(u64, Vec<u8>)> = keys.iter().map(|k| (1, k.clone())).collect();
    let batch = sent.iter().map(|(k, u)| (*k, incoming(u))).collect();
    let merged = coalesce_typing(batch);
    assert_eq!(merged.len(), 1);
    let mut coalesced = room_with(&base);
    for (_, update) in merged {
        coalesced.apply_update(update).expect("applies");
    }
    coalesced.apply_update(incoming(&q)).expect("applies");

    assert_eq!(coalesced.text(), one_by_one.text());
    assert_eq!(
        coalesced.encode_state_as_update_v1().ok(),
        one_by_one.encode_state_as_update_v1().ok()
    );
}

#[test]
fn characters_of_any_width_merge_by_their_utf16_length() {
    // Yjs counts clocks in UTF-16 code units: "😀" takes two, "é" one.
    let (doc, text) = client(25);
    let sent: Vec<(u64, Vec<u8>)> = type_chars(&doc, &text, 0, "é😀x😀")
        .into_iter()
        .map(|u| (1, u))
        .collect();
    let (room, merged) = coalesced_room(&sent);
    assert_eq!(merged.len(), 1);
    assert_eq!(room.text(), "é😀x😀");
    assert_eq!(room.state_vector(), state_vector(&doc));
}

/// Which ids a room's document holds and which of them are deleted.
fn snapshot_of(room: &RoomDoc) -> yrs::Snapshot {
    let (doc, _) = client(99);
    apply(&doc, &room.encode_state_as_update_v1().expect("encodes"));
    let snapshot = doc.transact().snapshot();
    snapshot
}

/// One step of a typist: type some characters at a position, delete some, or catch up with
/// the other typist (so later keystrokes sit next to the other's text).
#[derive(Debug, Clone)]
enum Step {
    Type(u32, String),
    Delete(u32, u32),
    Sync,
}

fn steps() -> impl Strategy<Value = Vec<(u8, Step)>> {
    let step = prop_oneof![
        6 => (any::<u32>(), "[a-zé😀 ]{1,6}").prop_map(|(at, s)| Step::Type(at, s)),
        2 => (any::<u32>(), 1u32..4).prop_map(|(at, n)| Step::Delete(at, n)),
        1 => Just(Step::Sync),
    ];
    prop::collection::vec((0u8..2, step), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Two typists with a shared base, their keystrokes interleaved in one queue: coalesced or
    /// not, the room and every peer end with the same document.
    #[test]
    fn coalesced_keystrokes_converge_with_the_originals(script in steps(), cut in 1usize..20) {
        let typists = [client(7), client(9)];
        let base = edit(&typists[0].0, |txn| typists[0].1.insert(txn, 0, "base text"));
        apply(&typists[1].0, &base);
        let mut sent: Vec<(u64, Vec<u8>)> = Vec::new();
        for (who, step) in script {
            let (doc, text) = &typists[usize::from(who)];
            let len = text_of(doc, text).chars().count() as u32;
            let keys = match step {
                Step::Type(at, s) => type_chars(doc, text, at % (len + 1), &s),
                Step::Delete(at, n) if len > 0 => {
                    let from = at % len + 1;
                    backspaces(doc, text, from, n.min(from))
                }
                Step::Delete(..) => Vec::new(),
                Step::Sync => {
                    let (other, _) = &typists[1 - usize::from(who)];
                    apply(doc, &diff(other, &state_vector(doc)));
                    Vec::new()
                }
            };
            sent.extend(keys.into_iter().map(|k| (u64::from(who), k)));
        }
        let mut plain = room_with(&base);
        for (_, u) in &sent {
            plain.apply_update(incoming(u)).expect("applies");
        }
        // The room takes them in batches of `cut`, coalescing each.
        let mut room = room_with(&base);
        let mut relayed = Vec::new();
        for chunk in sent.chunks(cut) {
            let batch = chunk.iter().map(|(k, u)| (*k, incoming(u))).collect();
            for (_, update) in coalesce_typing(batch) {
                relayed.push(update.raw().to_vec());
                room.apply_update(update).expect("a merged update applies");
            }
        }
        prop_assert!(relayed.len() <= sent.len());
        prop_assert_eq!(room.text(), plain.text());
        prop_assert_eq!(room.state_vector(), plain.state_vector());
        // The same inserted and deleted ids (blocks may be squashed differently: the
        // transactions differ, so the encodings may too).
        prop_assert_eq!(snapshot_of(&room), snapshot_of(&plain));
        // A peer that gets the merged updates relayed, in order as the socket delivers them,
        // ends with the same document.
        let (peer, peer_text) = client(11);
        apply(&peer, &base);
        for update in &relayed {
            apply(&peer, update);
        }
        prop_assert_eq!(text_of(&peer, &peer_text), plain.text());
        prop_assert_eq!(state_vector(&peer), plain.state_vector());
    }
}

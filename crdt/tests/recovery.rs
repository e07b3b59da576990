//! Loading a room whose log holds entries that no longer replay: everything else loads, and
//! the loader names the entries it left out (the server quarantines them).

mod common;

use chatspace_crdt::{encode_snapshot, LoadError, RoomDoc, SnapshotFormat};
use common::*;
use yrs::Text;

/// The log a server without the room's schema stored for a hostile client: ordinary text,
/// then three updates that passed the structural check.
fn poisoned_log() -> (Vec<Vec<u8>>, String) {
    let (doc, text) = client(1);
    let base = edit(&doc, |txn| text.push(txn, "the victim's text"));
    let log = vec![
        base,
        hex("0001dc36010059"),
        hex("0101dc360008010161037d247701617601017875027d017d0200"),
        hex("0104dc3600010101610188dc3600027701617601017875027d017d0287dc3602012800dc3601016b0177017601dc36010001"),
    ];
    (log, "the victim's text".to_owned())
}

#[test]
fn a_log_that_no_longer_replays_loads_without_its_bad_entries() {
    let (mut log, text) = poisoned_log();
    assert!(
        RoomDoc::load(None, &log).is_err(),
        "the strict replay fails on this log"
    );
    // The victim keeps typing after the attack; that must survive too.
    let (doc, own) = client(1);
    apply(&doc, &log[0]);
    log.push(edit(&doc, |txn| own.push(txn, ", and more")));
    let recovered = RoomDoc::load_recovering(None, &log).expect("loads");
    assert_eq!(recovered.doc.text(), format!("{text}, and more"));
    assert!(!recovered.doc.is_poisoned());
    // These entries fail only in one transaction with others: replayed one by one they may
    // all apply. Whatever was left out, the recovered document's snapshot loads strictly.
    assert!(recovered
        .skipped
        .iter()
        .filter_map(LoadError::log_index)
        .all(|i| (1..=3).contains(&i)));
    let snapshot = encode_snapshot(&recovered.doc, SnapshotFormat::V2).expect("encodes");
    let again = RoomDoc::load(Some((&snapshot, SnapshotFormat::V2)), [[0u8; 0]; 0]);
    assert_eq!(
        again.expect("the snapshot loads").text(),
        recovered.doc.text()
    );
}

#[test]
fn entries_that_break_the_rules_or_do_not_decode_are_skipped_and_the_rest_keeps_its_order() {
    let (doc, text) = client(4);
    let keys = type_at_end(&doc, &text, "abc");
    // Parent given as the id of a string item: yrs decodes it but will not apply it.
    let not_applying = vec![1, 1, 2, 0, 4, 0, 4, 0, 1, b'x', 0];
    let not_decoding = vec![1, 1, 2, 0, 4];
    let log = vec![
        keys[0].clone(),
        not_applying,
        keys[1].clone(),
        not_decoding,
        keys[2].clone(),
    ];
    let recovered = RoomDoc::load_recovering(None, &log).expect("loads");
    assert_eq!(recovered.doc.text(), "abc");
    // The parent given by id no longer passes the rules a client's update is held to, which
    // stored entries are held to as well; the other does not decode at all.
    assert!(
        matches!(
            recovered.skipped.as_slice(),
            [
                LoadError::LogDecode { index: 1, .. },
                LoadError::LogDecode { index: 3, .. }
            ]
        ),
        "{:?}",
        recovered.skipped
    );
}

#[test]
fn a_snapshot_that_does_not_load_is_still_an_error() {
    let recovered =
        RoomDoc::load_recovering(Some((&[1, 2, 3][..], SnapshotFormat::V1)), [[0u8; 0]; 0]);
    assert!(matches!(recovered, Err(LoadError::SnapshotDecode(_))));
}

/// A log written before the room's clock rule existed can hold an update that leaves a hole in
/// its client's clocks; replayed, the next one that meets the hole makes yrs 0.28.1 read freed
/// memory (docs/reliability.md). Held to today's rules, it is left out instead.
#[test]
fn a_stored_update_that_would_leave_a_hole_is_left_out() {
    let (doc, text) = client(1);
    let base = edit(&doc, |txn| text.push(txn, "hello world"));
    let log = vec![
        base,
        hex("01010114000500"),
        hex("0101010f040101740661626364656600"),
    ];
    let recovered = RoomDoc::load_recovering(None, &log).expect("loads");
    assert_eq!(recovered.doc.text(), "hello world");
    let skipped: Vec<usize> = recovered
        .skipped
        .iter()
        .filter_map(LoadError::log_index)
        .collect();
    assert_eq!(skipped, vec![1, 2]);
}

/// Two nodes append to one room's log, each the edits of its own client, numbered in the order
/// the nodes commit: an entry may come before the one it builds on, and a client's next entry
/// then does not follow on from what the replay has of it yet. The log loads whole.
#[test]
fn a_log_whose_entries_come_before_ones_they_build_on_loads_whole() {
    let (a, text_a) = client(1);
    let (b, text_b) = client(2);
    let mut of_a = Vec::new();
    let mut of_b = Vec::new();
    // They take turns typing at the start, each building on the other's last character.
    for _ in 0..3 {
        let update = edit(&a, |txn| text_a.insert(txn, 0, "a"));
        apply(&b, &update);
        of_a.push(update);
        let update = edit(&b, |txn| text_b.insert(txn, 0, "b"));
        apply(&a, &update);
        of_b.push(update);
    }
    let typed = text_of(&a, &text_a);
    assert_eq!(typed, "bababa");

    // b's node committed all of b's edits before a's node committed a's second and third.
    let log: Vec<Vec<u8>> = [&of_a[..1], &of_b[..], &of_a[1..]].concat();
    let recovered = RoomDoc::load_recovering(None, &log).expect("loads");
    assert!(recovered.skipped.is_empty(), "{:?}", recovered.skipped);
    assert!(recovered.waiting.is_empty(), "{:?}", recovered.waiting);
    assert_eq!(recovered.doc.text(), typed);

    // Read while a's node had not committed a's second and third edits yet: b's entries that
    // build on them wait, and are not lost; once the rest is stored the log loads whole.
    let early: Vec<Vec<u8>> = [&of_a[..1], &of_b[..]].concat();
    let recovered = RoomDoc::load_recovering(None, &early).expect("loads");
    assert!(recovered.skipped.is_empty(), "{:?}", recovered.skipped);
    let waiting: Vec<usize> = recovered
        .waiting
        .iter()
        .filter_map(LoadError::log_index)
        .collect();
    assert_eq!(
        waiting,
        vec![3],
        "b's third edit waits for a's second and third"
    );
    assert_eq!(
        RoomDoc::load_recovering(None, &log)
            .expect("loads")
            .doc
            .text(),
        typed
    );
}

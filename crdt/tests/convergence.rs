//! Concurrent edits converge whatever the delivery order, through `RoomDoc` and through the
//! codec frames a browser would send.

mod common;

use chatspace_crdt::codec::{sync_step2_frame, update_frame};
use chatspace_crdt::{Ingested, RoomDoc, MAX_UPDATES_PER_TXN};
use common::*;
use yrs::Text;

/// The text every replica must end with: all three increments applied to a plain yrs doc.
fn expected(base: &[u8], updates: &[Vec<u8>; 3]) -> String {
    let (doc, text) = client(99);
    apply(&doc, base);
    for update in updates {
        apply(&doc, update);
    }
    text_of(&doc, &text)
}

#[test]
fn three_concurrent_edits_converge_in_every_delivery_order_through_room_doc() {
    let (base, updates) = three_concurrent_edits();
    let want = expected(&base, &updates);
    assert!(want.contains("AAA") || want.contains("BBB") || want.contains("CCC"));
    let mut svs = Vec::new();
    for order in PERMUTATIONS {
        let mut room = room_with(&base);
        for i in order {
            room.apply_update(incoming(&updates[i]))
                .expect("update applies");
        }
        assert_eq!(room.text(), want, "order {order:?}");
        assert!(!room.has_missing_updates());
        svs.push(room.state_vector());
    }
    assert!(svs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn three_concurrent_edits_converge_in_every_delivery_order_through_codec_frames() {
    let (base, updates) = three_concurrent_edits();
    let want = expected(&base, &updates);
    for order in PERMUTATIONS {
        let mut room = RoomDoc::new();
        room.apply_update(incoming_from_frame(&sync_step2_frame(&base)))
            .expect("base applies");
        for (n, i) in order.into_iter().enumerate() {
            // Alternate the two update-carrying sync sub-types.
            let frame = if n % 2 == 0 {
                update_frame(&updates[i])
            } else {
                sync_step2_frame(&updates[i])
            };
            let incoming = incoming_from_frame(&frame);
            assert_eq!(incoming.raw(), &updates[i][..], "raw bytes kept as sent");
            room.apply_update(incoming).expect("update applies");
        }
        assert_eq!(room.text(), want, "order {order:?}");
    }
}

#[test]
fn three_concurrent_edits_converge_when_applied_as_one_batch_in_every_order() {
    let (base, updates) = three_concurrent_edits();
    let want = expected(&base, &updates);
    for order in PERMUTATIONS {
        let mut room = room_with(&base);
        let outcome =
            room.apply_updates(order.map(|i| incoming(&updates[i])).into_iter().enumerate());
        assert!(outcome.failure.is_none());
        let indices: Vec<usize> = outcome.applied.iter().map(|a| a.tag).collect();
        assert_eq!(indices, vec![0, 1, 2]);
        for (applied, i) in outcome.applied.iter().zip(order) {
            assert_eq!(applied.raw, updates[i], "raw bytes come back for storing");
        }
        assert_eq!(room.text(), want, "order {order:?}");
    }
}

#[test]
fn every_client_converges_with_the_room_when_the_room_relays_in_its_own_order() {
    let (base, updates) = three_concurrent_edits();
    let mut room = room_with(&base);
    // The room receives 3, 1, 2; each client receives the other two relayed in room order.
    let room_order = [2, 0, 1];
    let mut relayed = Vec::new();
    for i in room_order {
        let applied = room.apply_update(incoming(&updates[i])).expect("applies");
        relayed.push((i, update_frame(&applied.raw)));
    }
    for (me, own) in updates.iter().enumerate() {
        let (doc, text) = client(10 + me as u64);
        apply(&doc, &base);
        apply(&doc, own);
        for (origin, frame) in &relayed {
            if *origin != me {
                let update = incoming_from_frame(frame);
                apply(&doc, update.raw());
            }
        }
        assert_eq!(text_of(&doc, &text), room.text(), "client {me}");
    }
}

#[test]
fn updates_delivered_before_their_predecessors_wait_and_then_converge() {
    let (doc, text) = client(7);
    let steps: Vec<Vec<u8>> = ["a", "b", "c", "d"]
        .iter()
        .map(|s| edit(&doc, |txn| text.push(txn, s)))
        .collect();
    let mut room = RoomDoc::new();
    room.apply_update(incoming(&steps[2])).expect("applies");
    room.apply_update(incoming(&steps[1])).expect("applies");
    assert!(room.has_missing_updates());
    assert_eq!(room.text(), "");
    // A snapshot taken now keeps the waiting updates (yrs merges pending data into it).
    let early = room.encode_state_as_update_v1().expect("encodes");
    room.apply_update(incoming(&steps[3])).expect("applies");
    room.apply_update(incoming(&steps[0])).expect("applies");
    assert!(!room.has_missing_updates());
    assert_eq!(room.text(), "abcd");
    let mut reloaded = room_with(&early);
    reloaded.apply_update(incoming(&steps[0])).expect("applies");
    reloaded.apply_update(incoming(&steps[3])).expect("applies");
    assert_eq!(reloaded.text(), "abcd");
}

#[test]
fn a_batch_longer_than_one_transaction_is_applied_in_order_across_chunks() {
    let (doc, text) = client(5);
    let keystrokes: Vec<Vec<u8>> = (0..(MAX_UPDATES_PER_TXN * 3 + 7))
        .map(|i| {
            let c = char::from(b'a' + (i % 26) as u8).to_string();
            edit(&doc, |txn| text.push(txn, &c))
        })
        .collect();
    let mut room = RoomDoc::new();
    let outcome = room.apply_updates(keystrokes.iter().map(|k| ((), incoming(k))));
    assert!(outcome.failure.is_none());
    assert_eq!(outcome.applied.len(), keystrokes.len());
    assert_eq!(room.text(), text_of(&doc, &text));
}

#[test]
fn a_reused_result_buffer_gets_each_batch_appended_in_order() {
    let (doc, text) = client(6);
    let keystrokes = type_at_end(&doc, &text, "reuse");
    let mut room = RoomDoc::new();
    let mut out = Ingested::default();
    // One update per call, as a room that keeps up gets them; the buffer keeps what the
    // caller left in it and is drained between calls.
    for (i, k) in keystrokes.iter().enumerate() {
        room.apply_updates_into([(i, incoming(k))], MAX_UPDATES_PER_TXN, &mut out)
            .expect("a keystroke applies");
        if i == 1 {
            let tags: Vec<usize> = out.applied.drain(..).map(|a| a.tag).collect();
            assert_eq!(tags, vec![0, 1], "appended after what was already there");
        }
    }
    assert!(out.refused.is_empty());
    let raws: Vec<&[u8]> = out.applied.iter().map(|a| &a.raw[..]).collect();
    let want: Vec<&[u8]> = keystrokes[2..].iter().map(|k| &k[..]).collect();
    assert_eq!(raws, want, "the rest, in order, with their bytes to store");
    assert_eq!(room.text(), "reuse");
}

#[test]
fn interleaved_typing_at_the_same_position_converges_for_every_delivery_order() {
    // Three clients type a word each, one keystroke per update, all at position 0 of "".
    let words = ["abc", "xyz", "123"];
    let streams: Vec<Vec<Vec<u8>>> = words
        .iter()
        .enumerate()
        .map(|(n, word)| {
            let (doc, text) = client(20 + n as u64);
            word.chars()
                .enumerate()
                .map(|(i, c)| edit(&doc, |txn| text.insert(txn, i as u32, &c.to_string())))
                .collect()
        })
        .collect();
    let mut results = Vec::new();
    for order in PERMUTATIONS {
        let mut room = RoomDoc::new();
        // Round-robin over the streams in this order, keeping each stream's own order.
        let mut cursors: Vec<_> = streams.iter().map(|stream| stream.iter()).collect();
        for _ in 0..3 {
            for &i in &order {
                let keystroke = cursors[i].next().expect("three keystrokes per stream");
                room.apply_update(incoming(keystroke)).expect("applies");
            }
        }
        results.push(room.text());
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    for word in words {
        assert!(
            results[0].contains(word),
            "{word} stays contiguous in {}",
            results[0]
        );
    }
}

//! Hostile update bytes: random input, corrupted valid updates and byte vectors from yrs
//! bug reports must come back as errors, never as a panic that escapes or a process abort.
//! Also checks the other way round: everything yrs itself produces passes the pre-checks.

mod common;

use chatspace_crdt::codec::preflight::check_update_v1;
use chatspace_crdt::codec::update_frame;
use chatspace_crdt::{
    decode_client_frame, ApplyError, DecodeError, IncomingUpdate, Limits, RoomDoc, SnapshotFormat,
};
use common::*;
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use yrs::types::Attrs;
use yrs::{Any, Array, Doc, Map, Text, Transact, XmlElementPrelim, XmlFragment};

/// A room with some content, so that hostile updates meet existing blocks.
fn busy_room() -> RoomDoc {
    let (doc, text) = client(1);
    text.push(&mut doc.transact_mut(), "the quick brown fox");
    text.remove_range(&mut doc.transact_mut(), 4, 6);
    room_with(&full(&doc))
}

/// Checks, decodes and applies `bytes` the way the server does; any outcome but a panic is
/// fine, and only a failure to integrate may poison the room.
fn feed(room: &mut RoomDoc, bytes: &[u8]) {
    if let Ok(update) = IncomingUpdate::check_v1(bytes.to_vec()) {
        match room.apply_update(update) {
            Ok(_) | Err(ApplyError::Undecodable(_)) => assert!(!room.is_poisoned()),
            Err(ApplyError::Poisoned) => unreachable!("the room was healthy"),
            Err(_) => assert!(room.is_poisoned()),
        }
    }
    // Reads keep working whatever happened.
    let _ = room.text();
    let _ = room.state_vector();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_make_the_frame_decoder_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_client_frame(&bytes, &Limits::default());
    }

    #[test]
    fn random_payloads_behind_valid_headers_never_panic(
        header in prop::sample::select(vec![vec![0u8, 0], vec![0, 1], vec![0, 2], vec![1], vec![100]]),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut frame = header;
        frame.push(payload.len() as u8 & 0x7f);
        frame.extend(payload.iter().take(0x7f));
        let _ = decode_client_frame(&frame, &Limits::default());
    }

    #[test]
    fn random_bytes_never_make_apply_update_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut room = busy_room();
        feed(&mut room, &bytes);
    }

    #[test]
    fn corrupted_valid_updates_never_make_apply_update_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (doc, text) = client(2);
        text.push(&mut doc.transact_mut(), "concurrent text by another client");
        let mut update = full(&doc);
        for (at, byte) in edits {
            let i = at.index(update.len());
            update[i] = byte;
        }
        let mut room = busy_room();
        feed(&mut room, &update);
    }

    #[test]
    fn random_snapshots_and_logs_never_make_load_panic(
        snapshot in proptest::collection::vec(any::<u8>(), 0..300),
        v2 in any::<bool>(),
        log in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4),
    ) {
        let format = if v2 { SnapshotFormat::V2 } else { SnapshotFormat::V1 };
        let _ = RoomDoc::load(Some((&snapshot, format)), &log);
        let _ = RoomDoc::load(None, &log);
    }

    #[test]
    fn every_update_yrs_produces_passes_the_structural_checks(ops in proptest::collection::vec(0u8..8, 1..24)) {
        let doc = Doc::with_client_id(11);
        // Root types must be fetched outside a transaction (doing it inside deadlocks).
        let roots = Roots {
            text: doc.get_or_insert_text("colabspace"),
            map: doc.get_or_insert_map("meta"),
            array: doc.get_or_insert_array("list"),
            xml: doc.get_or_insert_xml_fragment("xml"),
        };
        for (n, op) in ops.into_iter().enumerate() {
            let mut plain = None;
            let update = edit(&doc, |txn| plain = rich_edit(&roots, txn, op, n));
            let checked = check_update_v1(&update);
            prop_assert!(checked.is_ok(), "op {op}: {:?}", checked.err());
            // A client may write plain text only: typing and deleting pass, the rest does not.
            let as_client = IncomingUpdate::check_v1(update);
            if let Some(plain) = plain {
                prop_assert_eq!(as_client.is_ok(), plain, "op {}: {:?}", op, as_client.err());
            }
        }
        let checked = check_update_v1(&full(&doc));
        prop_assert!(checked.is_ok(), "{:?}", checked.err());
    }
}

/// One edit of a kind a Yjs client can make: text with formats and embeds, deletions, maps
/// and arrays of nested values, XML elements and sub-documents.
struct Roots {
    text: yrs::TextRef,
    map: yrs::MapRef,
    array: yrs::ArrayRef,
    xml: yrs::XmlFragmentRef,
}

/// Returns whether the edit only typed or deleted plain text, `None` when that depends on the
/// text around it (formatted text inside a range that already has the format is plain).
fn rich_edit(roots: &Roots, txn: &mut yrs::TransactionMut<'_>, op: u8, n: usize) -> Option<bool> {
    let text = &roots.text;
    let len = text.len(txn);
    match op {
        0 => text.insert(txn, len / 2, "typed"),
        1 if len > 2 => text.remove_range(txn, 1, len / 2),
        _ => {
            other_edit(roots, txn, op, n);
            return (op != 2).then_some(false);
        }
    }
    Some(true)
}

fn other_edit(roots: &Roots, txn: &mut yrs::TransactionMut<'_>, op: u8, n: usize) {
    let Roots {
        text,
        map,
        array,
        xml,
    } = roots;
    match op {
        2 => {
            let attrs = Attrs::from([(Arc::from("bold"), Any::Bool(true))]);
            text.insert_with_attributes(txn, 0, "bold", attrs);
        }
        3 => {
            let image = HashMap::from([("image".to_owned(), Any::from("cat.png"))]);
            text.insert_embed(txn, 0, Any::Map(Arc::new(image)));
        }
        4 => {
            let nested = Any::Array(Arc::from(vec![
                Any::from(1.5),
                Any::Null,
                Any::from("s"),
                Any::from(-7i64),
                Any::from(1i64 << 60),
            ]));
            let deep = Any::Map(Arc::new(HashMap::from([
                ("k".to_owned(), nested),
                ("f".to_owned(), Any::from(0.1f32)),
            ])));
            map.insert(txn, format!("key{n}"), deep);
        }
        5 => {
            array.push_back(txn, Any::Buffer(Arc::from(&[1u8, 2, 3][..])));
            array.push_back(
                txn,
                Any::Array(Arc::from(vec![Any::Bool(false), Any::Undefined])),
            );
        }
        6 => {
            xml.push_back(txn, XmlElementPrelim::empty("p"));
        }
        _ => {
            map.insert(txn, "sub", Doc::new());
        }
    }
}

#[test]
fn the_21_bytes_that_asked_the_allocator_for_215_tb_are_an_error() {
    // y-crdt/y-crdt issue #415 (comment of 2026-08-04): these bytes made yrs 0.27.3 request
    // 215,504,279,044,112 bytes and abort. They must fail cleanly here.
    let bytes = [
        0xd7, 0x54, 0x8f, 0x54, 0x77, 0x0c, 0x78, 0x00, 0x2d, 0x67, 0x76, 0x98, 0xfb, 0xbf, 0xd5,
        0xf3, 0x57, 0x30, 0xee, 0x32, 0x40,
    ];
    assert!(IncomingUpdate::check_v1(bytes.to_vec()).is_err());
    assert!(decode_client_frame(&update_frame(&bytes), &Limits::default()).is_err());
    assert!(RoomDoc::load(Some((&bytes[..], SnapshotFormat::V1)), [[0u8; 0]; 0]).is_err());
}

#[test]
fn the_updates_from_the_item_has_no_parent_report_apply_without_panicking() {
    // y-crdt/ypy issue #28: yrs panicked with "Defect: item has no parent" on the last one.
    let updates: [&[u8]; 8] = [
        &[
            1, 2, 208, 216, 199, 216, 11, 0, 40, 1, 5, 115, 116, 97, 116, 101, 5, 100, 105, 114,
            116, 121, 1, 121, 40, 1, 7, 99, 111, 110, 116, 101, 120, 116, 4, 112, 97, 116, 104, 1,
            119, 13, 117, 110, 116, 105, 116, 108, 101, 100, 50, 46, 116, 120, 116, 0,
        ],
        &[
            1, 1, 208, 216, 199, 216, 11, 2, 4, 1, 6, 115, 111, 117, 114, 99, 101, 1, 32, 0,
        ],
        &[
            1, 1, 208, 216, 199, 216, 11, 3, 168, 208, 216, 199, 216, 11, 0, 1, 120, 1, 208, 216,
            199, 216, 11, 1, 0, 1,
        ],
        &[
            1, 1, 208, 216, 199, 216, 11, 4, 40, 1, 7, 99, 111, 110, 116, 101, 120, 116, 13, 108,
            97, 115, 116, 95, 109, 111, 100, 105, 102, 105, 101, 100, 1, 119, 27, 50, 48, 50, 50,
            45, 48, 52, 45, 48, 54, 84, 48, 55, 58, 53, 49, 58, 52, 57, 46, 51, 50, 49, 53, 54, 52,
            90, 0,
        ],
        &[
            1, 1, 208, 216, 199, 216, 11, 5, 168, 208, 216, 199, 216, 11, 3, 1, 121, 1, 208, 216,
            199, 216, 11, 1, 3, 1,
        ],
        &[
            1, 1, 208, 216, 199, 216, 11, 6, 168, 208, 216, 199, 216, 11, 5, 1, 120, 1, 208, 216,
            199, 216, 11, 1, 2, 1,
        ],
        &[
            1, 1, 208, 216, 199, 216, 11, 6, 168, 208, 216, 199, 216, 11, 5, 1, 120, 1, 208, 216,
            199, 216, 11, 1, 5, 1,
        ],
        &[
            1, 2, 208, 216, 199, 216, 11, 7, 132, 208, 216, 199, 216, 11, 2, 1, 32, 168, 242, 241,
            203, 145, 14, 0, 1, 120, 0,
        ],
    ];
    // A client may no longer send these (they write a map and a text named "source"), but a
    // room stored before that rule keeps loading them.
    for update in updates {
        assert!(IncomingUpdate::check_v1(update.to_vec()).is_err());
    }
    let room = RoomDoc::load(None, updates).expect("loads");
    assert_eq!(room.text(), "");
}

#[test]
fn any_values_nested_a_hundred_thousand_deep_are_refused_instead_of_overflowing_the_stack() {
    // 1 client, 1 block, client 1, clock 0, info 8 (Any content), parent = root "colabspace".
    let mut update = vec![1, 1, 1, 0, 8, 1, 10];
    update.extend_from_slice(b"colabspace");
    update.push(1); // one Any value
    for _ in 0..100_000 {
        update.extend([117, 1]); // an array holding one value
    }
    update.extend([126, 0]); // null, then an empty delete set
                             // Stored data is walked as carefully as client data, whatever its content.
    assert!(matches!(
        check_update_v1(&update),
        Err(DecodeError::MalformedUpdate(_))
    ));
}

#[test]
fn client_ids_beyond_53_bits_are_refused_before_yrs_sees_them() {
    // yrs debug-asserts on such ids and silently truncates them in release builds.
    let mut update = vec![1, 1];
    update.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // 2^56
    update.extend([0, 4, 1, 1, b'x', 1, b'a', 0]);
    assert_eq!(
        IncomingUpdate::check_v1(update).err(),
        Some(DecodeError::InvalidVarInt)
    );
}

#[test]
fn a_delete_range_whose_end_overflows_is_refused() {
    let mut update = vec![0, 1, 1, 1];
    update.extend([0xff, 0xff, 0xff, 0xff, 0x0f]); // clock u32::MAX
    update.push(2); // length 2
    assert!(matches!(
        IncomingUpdate::check_v1(update),
        Err(DecodeError::MalformedUpdate(_))
    ));
}

#[test]
fn deletes_for_unknown_clients_and_far_clocks_are_harmless() {
    let mut room = busy_room();
    let before = room.text();
    // Delete set only: client 77 clocks 5..9, client 1 clocks 1000..1100.
    let update = vec![0, 2, 77, 1, 5, 4, 1, 1, 0xe8, 0x07, 100];
    room.apply_update(IncomingUpdate::check_v1(update).expect("decodes"))
        .expect("applies");
    assert_eq!(room.text(), before);
}

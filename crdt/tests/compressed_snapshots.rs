//! zstd-compressed snapshots (format 3): smaller than plain v2, loading to the same document,
//! rows stored before compression still loading, damaged frames refused without a panic or a
//! large allocation; and the check, split from the encode, running on another thread.

mod common;

use chatspace_crdt::snapshot::MAX_SNAPSHOT_BYTES;
use chatspace_crdt::{encode_snapshot, RoomDoc, SnapshotFormat};
use common::*;
use yrs::Text;

/// A room holding `words` words of prose typed a word per update, some of them deleted again.
fn prose_room(words: usize) -> RoomDoc {
    let (doc, text) = client(7);
    let mut updates = Vec::new();
    for i in 0..words {
        let word = ["the ", "room ", "keeps ", "every ", "edit ", "stored "][i % 6];
        updates.push(edit(&doc, |txn| text.push(txn, word)));
        if i % 9 == 8 {
            updates.push(edit(&doc, |txn| text.remove_range(txn, 0, 4)));
        }
    }
    room_with_log(&updates)
}

fn room_with_log(updates: &[Vec<u8>]) -> RoomDoc {
    RoomDoc::load(None, updates).expect("the log loads")
}

fn load(bytes: &[u8], format: SnapshotFormat) -> Result<RoomDoc, chatspace_crdt::LoadError> {
    RoomDoc::load(Some((bytes, format)), Vec::<Vec<u8>>::new())
}

#[test]
fn a_compressed_snapshot_is_smaller_than_plain_v2_and_loads_to_the_same_document() {
    let room = prose_room(3_000);
    let plain = encode_snapshot(&room, SnapshotFormat::V2).expect("encodes");
    let compressed = encode_snapshot(&room, SnapshotFormat::V2Zstd).expect("encodes");
    assert!(
        compressed.len() * 2 < plain.len(),
        "zstd {} bytes against v2 {} bytes",
        compressed.len(),
        plain.len()
    );
    let loaded = load(&compressed, SnapshotFormat::V2Zstd).expect("loads");
    assert_eq!(loaded.text(), room.text());
    assert_eq!(loaded.state_vector(), room.state_vector());
}

#[test]
fn snapshots_stored_before_compression_still_load() {
    let room = prose_room(500);
    for format in [SnapshotFormat::V1, SnapshotFormat::V2] {
        let stored = encode_snapshot(&room, format).expect("encodes");
        let loaded = load(&stored, format).expect("an old row loads");
        assert_eq!(loaded.text(), room.text(), "{format:?}");
    }
}

#[test]
fn a_damaged_compressed_snapshot_is_an_error() {
    let room = prose_room(500);
    let compressed = encode_snapshot(&room, SnapshotFormat::V2Zstd).expect("encodes");
    let plain = encode_snapshot(&room, SnapshotFormat::V2).expect("encodes");
    for cut in [0, 1, 4, 8, compressed.len() / 2, compressed.len() - 1] {
        assert!(
            load(&compressed[..cut], SnapshotFormat::V2Zstd).is_err(),
            "prefix {cut}"
        );
    }
    let mut flipped = compressed.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    assert!(
        load(&flipped, SnapshotFormat::V2Zstd).is_err(),
        "a flipped byte (the frame ends with a checksum)"
    );
    assert!(
        load(&plain, SnapshotFormat::V2Zstd).is_err(),
        "a plain v2 row marked as compressed"
    );
    assert!(
        load(&compressed, SnapshotFormat::V2).is_err(),
        "a compressed row marked as plain v2"
    );
}

#[test]
fn a_frame_declaring_more_than_the_limit_or_no_size_is_refused_before_allocating() {
    // A zstd frame header: magic, then a descriptor with an 8-byte content size (and single
    // segment), then the size itself, and one empty raw block.
    let frame = |size: u64| {
        let mut bytes = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&[0x01, 0x00, 0x00]);
        bytes
    };
    let limit = MAX_SNAPSHOT_BYTES as u64;
    let refused = load(&frame(limit + 1), SnapshotFormat::V2Zstd).expect_err("too large");
    assert!(refused.to_string().contains("over the limit"), "{refused}");
    // The descriptor without a content size (and without single segment: a window byte).
    let unsized_frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00];
    let refused = load(&unsized_frame, SnapshotFormat::V2Zstd).expect_err("no size");
    assert!(refused.to_string().contains("does not record"), "{refused}");
}

#[test]
fn the_check_can_run_on_another_thread_and_gives_the_same_bytes() {
    let room = prose_room(800);
    let unchecked = room
        .encode_unchecked_snapshot(SnapshotFormat::V2Zstd)
        .expect("encodes");
    assert_eq!(unchecked.format(), SnapshotFormat::V2Zstd);
    let checked = std::thread::spawn(move || unchecked.check())
        .join()
        .expect("the check does not panic")
        .expect("a faithful snapshot passes");
    assert_eq!(
        checked,
        encode_snapshot(&room, SnapshotFormat::V2Zstd).expect("encodes")
    );
}

//! What the fuzz targets of `fuzz/` run on each input, shared with `fuzz_regressions.rs`, which
//! replays every committed finding through the same code (the targets include this file by
//! path). Each function panics when an invariant of the server breaks; libFuzzer reports that
//! panic as a crash, the regression test as a failure.
#![allow(dead_code)] // each includer uses a different subset

use chatspace_crdt::codec::client::decode_server_frame;
use chatspace_crdt::codec::preflight::Rules;
use chatspace_crdt::codec::ClientMessage;
use chatspace_crdt::yrs::{Array, Doc, Map, MapPrelim, ReadTxn, StateVector, Text, Transact};
use chatspace_crdt::{
    compact, decode_client_frame, encode_snapshot, ApplyError, IncomingUpdate, Limits, RoomDoc,
    SnapshotFormat,
};
use std::sync::OnceLock;

/// For the fuzz targets, at start: libFuzzer's panic hook aborts on every panic, but yrs panics
/// that the room catches (it then reloads itself) are part of what is being tested, so panics
/// are left to unwind, silently. One that escapes [`check`] is a finding.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// Runs one input; a panic that escapes it (a broken invariant, or a panic the server's code
/// did not contain) is printed and aborts, which libFuzzer reports as a crash with the input.
pub fn check(run: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!("panic escaped the harness: {message}");
        std::process::abort();
    }
}

/// Updates longer than this are cut: long inputs only slow the fuzzer down.
const MAX_UPDATE: usize = 4096;
/// At most this many updates per input.
const MAX_UPDATES: usize = 16;

/// A frame from a client, and the same bytes as a frame from the server: every decoder of the
/// socket protocol (sync, awareness, chat, state vectors) either decodes them or says why.
pub fn frames(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(ClientMessage::Update(update) | ClientMessage::SyncStep2(update)) =
        decode_client_frame(data, &limits)
    {
        // Whatever passes the checks must be safe for yrs to decode (no allocation bomb).
        use chatspace_crdt::yrs::updates::decoder::Decode;
        let _ = chatspace_crdt::yrs::Update::decode_v1(update.raw());
    }
    let _ = decode_server_frame(data, &limits);
}

/// Splits an input into updates: each is a two-byte little-endian length and that many bytes
/// (the last one takes what is left).
pub fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut updates = Vec::new();
    while data.len() >= 2 && updates.len() < MAX_UPDATES {
        let len = usize::from(u16::from_le_bytes([data[0], data[1]])).min(MAX_UPDATE);
        let rest = &data[2..];
        let (update, after) = rest.split_at(len.min(rest.len()));
        updates.push(update);
        data = after;
    }
    updates
}

/// The inverse of [`split`], for writing seeds.
pub fn join(updates: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for update in updates {
        let len = u16::try_from(update.len()).expect("a seed update under 64 KiB");
        out.extend(len.to_le_bytes());
        out.extend_from_slice(update);
    }
    out
}

/// The text a room holds before a fuzzed input: typed in three transactions by client 1, with
/// an emoji, a deletion and a concurrent insert of client 2.
pub fn text_base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let doc = Doc::with_client_id(1);
        let text = doc.get_or_insert_text("colabspace");
        text.push(&mut doc.transact_mut(), "hello world");
        text.push(&mut doc.transact_mut(), " 😀 the base text");
        text.remove_range(&mut doc.transact_mut(), 3, 4);
        let other = Doc::with_client_id(2);
        let theirs = other.get_or_insert_text("colabspace");
        apply(&other, &full(&doc));
        theirs.insert(&mut other.transact_mut(), 5, "concurrent ");
        apply(&doc, &full(&other));
        full(&doc)
    })
}

/// [`text_base`] plus a map, an array and a nested map, as a room stored before the schema
/// may hold: what the old rules were fuzzed against.
pub fn rich_base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let doc = Doc::with_client_id(3);
        let map = doc.get_or_insert_map("meta");
        let array = doc.get_or_insert_array("list");
        apply(&doc, text_base());
        {
            let mut txn = doc.transact_mut();
            map.insert(&mut txn, "k", "v");
            map.insert(&mut txn, "n", 3);
            array.insert_range(&mut txn, 0, [1, 2, 3]);
            array.push_back(&mut txn, MapPrelim::from([("x", 1)]));
        }
        full(&doc)
    })
}

fn full(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

fn apply(doc: &Doc, update: &[u8]) {
    use chatspace_crdt::yrs::updates::decoder::Decode;
    let update = chatspace_crdt::yrs::Update::decode_v1(update).expect("a base decodes");
    doc.transact_mut()
        .apply_update(update)
        .expect("a base applies");
}

/// What a room went through: its live document and the log it stored (the base, then every
/// update it accepted, as sent).
pub struct Run {
    pub room: RoomDoc,
    pub log: Vec<Vec<u8>>,
}

/// Sends each update of `data` to a room holding `base`, checked under `rules`, as the server
/// does: an update that is refused changes nothing; one that fails to integrate poisons the
/// room, which is then loaded again from its log (the culprit was not stored). After each
/// update the text is read, as a joiner's sync step 2 and the room's log line do.
pub fn run(base: &[u8], data: &[u8], rules: Rules) -> Run {
    let mut room = RoomDoc::load(None, [base]).expect("the base loads");
    let mut log = vec![base.to_vec()];
    for bytes in split(data) {
        let Ok(update) = IncomingUpdate::check_v1_with(bytes.to_vec(), rules) else {
            continue;
        };
        match room.apply_update(update) {
            Ok(applied) => log.push(applied.raw.to_vec()),
            Err(ApplyError::Undecodable(_)) => assert!(!room.is_poisoned()),
            Err(_) => {
                assert!(room.is_poisoned());
                room = RoomDoc::load(None, &log).expect("the log loads after a failed update");
            }
        }
        let _ = room.text();
        let _ = room.answer_step1(&StateVector::default());
    }
    Run { room, log }
}

/// [`run`], then what the server stores must give back what it shows: the log of accepted
/// updates replays to the live text, and a snapshot, when one is produced (it is refused when
/// it would not load back faithfully), loads to it too, in both formats and by offline
/// compaction of the log.
pub fn run_and_reload(base: &[u8], data: &[u8], rules: Rules) {
    let Run { room, log } = run(base, data, rules);
    let text = room.text();
    let replayed = RoomDoc::load(None, &log).expect("the stored log loads");
    assert_eq!(
        replayed.text(),
        text,
        "the stored log replays to the live text"
    );
    for format in [SnapshotFormat::V1, SnapshotFormat::V2] {
        if let Ok(snapshot) = encode_snapshot(&room, format) {
            let loaded = RoomDoc::load(Some((&snapshot, format)), [[0u8; 0]; 0])
                .expect("a stored snapshot loads");
            assert_eq!(
                loaded.text(),
                text,
                "the {format:?} snapshot loads to the live text"
            );
        }
        if let Ok(compacted) = compact(None, &log, format) {
            let loaded = RoomDoc::load(Some((&compacted, format)), [[0u8; 0]; 0])
                .expect("a compacted log loads");
            assert_eq!(
                loaded.text(),
                text,
                "the {format:?} compaction loads to the live text"
            );
        }
    }
}

//! The bench's inputs, derived from the trace once before any timing starts, and the check
//! every case's result goes through.

use std::time::Instant;

use automerge::{Change, ReadDoc};
use bytes::{Bytes, BytesMut};
use chatspace_crdt::codec::update_frame;
use chatspace_crdt::{encode_snapshot, RoomDoc, SnapshotFormat};
use yrs::Doc;

use crate::ops::{automerge_local, yrs_apply, yrs_local, yrs_text};
use crate::timings::thousands;
use crate::trace::{self, Trace};

/// Edits of the trace used where automerge applies one remote change per call: it re-walks the
/// whole text object per call, so the whole trace would take hours (see the docs).
const DEFAULT_AUTOMERGE_PREFIX: usize = 3_000;

/// Everything the cases replay, derived from the trace before any timing starts.
pub struct Fixture {
    pub trace: Trace,
    /// One v1 update per trace transaction: `txn.encode_update_v1()` at each commit of a yrs
    /// document edited locally, as a y-websocket client sends them. Each is the tail of its
    /// frame in `frames`, so raw yrs and ChatSpace read the very same bytes.
    pub updates: Vec<Bytes>,
    /// The same updates framed as sync update messages and laid out as the server's socket
    /// hands them over (see [`socket_frames`]).
    pub frames: Vec<Bytes>,
    /// The room document after the whole log, for the snapshot encodes.
    pub live: RoomDoc,
    /// A plain yrs document after the whole log, for yrs's own encode without ChatSpace's check.
    pub raw_doc: Doc,
    pub snapshot_v1: Vec<u8>,
    pub snapshot_v2: Vec<u8>,
    /// The v2 snapshot compressed with zstd: what ChatSpace stores (format 3).
    pub snapshot_zstd: Vec<u8>,
    /// Automerge's change for each commit of a local run with one commit per trace transaction,
    /// the first one creating the text object.
    pub changes: Vec<Change>,
    /// `save()` of the final automerge document.
    pub automerge_saved: Vec<u8>,
    /// The first edits of the trace, for the cases that cannot replay all of it.
    pub prefix: Trace,
    /// `save_incremental()` after each commit of a local automerge run over `prefix`.
    pub prefix_chunks: Vec<Vec<u8>>,
}

impl Fixture {
    pub fn build() -> Self {
        let started = Instant::now();
        let trace = trace::load_from_env();
        println!(
            "trace: {} ({} transactions, {} patches, final text {} characters)",
            trace.source,
            thousands(trace.txns.len() as u64),
            thousands(trace.patch_count() as u64),
            thousands(trace.end_chars() as u64),
        );

        let mut updates = Vec::with_capacity(trace.txns.len());
        let doc = yrs_local(&trace, |txn| updates.push(txn.encode_update_v1()));
        check_text(
            "yrs local edits (generating the updates)",
            &yrs_text(&doc),
            &trace,
        );
        let frames = socket_frames(updates.iter().map(|u| update_frame(u)));
        let updates: Vec<Bytes> = frames
            .iter()
            .zip(&updates)
            .map(|(frame, update)| frame.slice(frame.len() - update.len()..))
            .collect();

        let live = RoomDoc::load(None, &updates).expect("the update log loads");
        check_text("RoomDoc::load of the update log", &live.text(), &trace);
        let raw_doc = Doc::new();
        yrs_apply(&raw_doc, &updates, 64);
        check_text(
            "raw yrs apply of the update log",
            &yrs_text(&raw_doc),
            &trace,
        );
        let snapshot_v1 = encode_snapshot(&live, SnapshotFormat::V1).expect("a v1 snapshot");
        let snapshot_v2 = encode_snapshot(&live, SnapshotFormat::V2).expect("a v2 snapshot");
        let snapshot_zstd =
            encode_snapshot(&live, SnapshotFormat::V2Zstd).expect("a compressed snapshot");

        let mut changes = Vec::with_capacity(trace.txns.len() + 1);
        let (mut doc, text) = automerge_local(&trace, true, |doc| {
            changes.push(doc.get_last_local_change().expect("a commit made a change"));
        });
        check_text(
            "automerge local edits (collecting the changes)",
            &doc.text(&text).expect("the text object"),
            &trace,
        );
        let automerge_saved = doc.save();

        let prefix_len = std::env::var("CHATSPACE_AUTOMERGE_PREFIX")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_AUTOMERGE_PREFIX);
        let prefix = trace.prefix(prefix_len);
        let mut prefix_chunks = Vec::with_capacity(prefix.txns.len() + 1);
        let (doc, text) = automerge_local(&prefix, true, |doc| {
            prefix_chunks.push(doc.save_incremental());
        });
        check_text(
            "automerge local edits of the prefix",
            &doc.text(&text).expect("the text object"),
            &prefix,
        );

        println!(
            "inputs built in {:.1} s: {} v1 updates ({} bytes), {} automerge changes; prefix for \
             per-change automerge cases: first {} transactions",
            started.elapsed().as_secs_f64(),
            thousands(updates.len() as u64),
            thousands(updates.iter().map(|u| u.len() as u64).sum()),
            thousands(changes.len() as u64),
            thousands(prefix.txns.len() as u64),
        );
        Fixture {
            trace,
            updates,
            frames,
            live,
            raw_doc,
            snapshot_v1,
            snapshot_v2,
            snapshot_zstd,
            changes,
            automerge_saved,
            prefix,
            prefix_chunks,
        }
    }

    pub fn n(&self) -> usize {
        self.updates.len()
    }

    pub fn prefix_n(&self) -> usize {
        self.prefix.txns.len()
    }
}

/// Bytes of the buffers the frames are laid out in: tungstenite's default read buffer
/// (`WebSocketConfig::read_buffer_size`, 128 KiB). The server reads 2 KiB at a time
/// (`src/realtime/socket.rs`), so there fewer frames share one buffer; either way a frame
/// shares its buffer's reference count.
const READ_BUFFER: usize = 128 * 1024;

/// The frames one after another in buffers of [`READ_BUFFER`] bytes, each frame a `Bytes`
/// sharing its buffer: what axum's socket (tungstenite) yields, which reads into one buffer and
/// splits each frame's payload off it. (A `Vec` turned into `Bytes` per frame instead would give
/// every frame a reference count of its own, allocated at its first clone, that no server has.)
fn socket_frames(frames: impl Iterator<Item = Vec<u8>>) -> Vec<Bytes> {
    let mut buffer = BytesMut::new();
    frames
        .map(|frame| {
            if buffer.capacity() < frame.len() {
                buffer = BytesMut::with_capacity(READ_BUFFER.max(frame.len()));
            }
            buffer.extend_from_slice(&frame);
            buffer.split_to(frame.len()).freeze()
        })
        .collect()
}

/// Panics, failing the bench run, when a CRDT did not produce the trace's final text.
pub fn check_text(case: &str, actual: &str, trace: &Trace) {
    if actual != trace.end_content {
        let at = actual
            .chars()
            .zip(trace.end_content.chars())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| actual.chars().count().min(trace.end_chars()));
        panic!(
            "WRONG RESULT in {case}: final text differs from endContent at character {at} \
             ({} characters, expected {})",
            actual.chars().count(),
            trace.end_chars()
        );
    }
}

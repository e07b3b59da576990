//! The operations under test: the trace typed into yrs and automerge, raw yrs applying
//! updates, and ChatSpace's ingest path.

use std::hint::black_box;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ObjType, ReadDoc, ROOT};
use bytes::Bytes;
use chatspace_crdt::codec::prepare_batch;
use chatspace_crdt::{
    decode_client_bytes, ClientMessage, IncomingUpdate, Ingested, Limits, RoomDoc,
    MAX_UPDATES_PER_TXN, TEXT_NAME,
};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Text, Transact, TransactionMut, Update};

use crate::trace::Trace;

/// Updates the room task takes from its queue at once, and so the batch the bench appends to
/// SQLite per flush (`APPLY_BATCH` in `src/realtime/room.rs`).
pub const TICK: usize = 256;
/// Name of the text object in the automerge documents.
const AUTOMERGE_TEXT: &str = "text";

/// Replays the trace as local edits of a yrs document, one transaction per trace transaction;
/// `on_commit` sees each transaction just before it commits.
pub fn yrs_local(trace: &Trace, mut on_commit: impl FnMut(&TransactionMut<'_>)) -> Doc {
    let doc = Doc::with_client_id(1);
    let text = doc.get_or_insert_text(TEXT_NAME);
    for t in &trace.txns {
        let mut txn = doc.transact_mut();
        for p in &t.patches {
            if p.byte_del > 0 {
                text.remove_range(&mut txn, p.byte_pos, p.byte_del);
            }
            if !p.ins.is_empty() {
                text.insert(&mut txn, p.byte_pos, &p.ins);
            }
        }
        on_commit(&txn);
    }
    doc
}

pub fn yrs_text(doc: &Doc) -> String {
    doc.get_or_insert_text(TEXT_NAME)
        .get_string(&doc.transact())
}

/// Raw yrs: decodes each update and applies it, `per_txn` updates per transaction.
pub fn yrs_apply(doc: &Doc, updates: &[impl AsRef<[u8]>], per_txn: usize) {
    yrs_apply_locking(doc, updates, per_txn, Doc::transact_mut);
}

/// [`yrs_apply`] taking the document's lock with `try_transact_mut`, as ChatSpace's room does
/// (`write_txn` in `crdt/src/room/batch.rs`): yrs with the same lock call, to tell ChatSpace's
/// own overhead from what that call saves.
pub fn yrs_apply_try_lock(doc: &Doc, updates: &[impl AsRef<[u8]>], per_txn: usize) {
    yrs_apply_locking(doc, updates, per_txn, |doc| {
        doc.try_transact_mut()
            .expect("nothing else holds the bench's document")
    });
}

fn yrs_apply_locking<'doc>(
    doc: &'doc Doc,
    updates: &[impl AsRef<[u8]>],
    per_txn: usize,
    write: impl Fn(&'doc Doc) -> TransactionMut<'doc>,
) {
    for chunk in updates.chunks(per_txn) {
        let mut txn = write(doc);
        for bytes in chunk {
            let update = Update::decode_v1(bytes.as_ref()).expect("a trace update decodes");
            txn.apply_update(update).expect("a trace update applies");
        }
    }
}

/// ChatSpace's ingest path for a run of frames, as the server does it minus the channels and
/// the connections: `decode_client_bytes` of each frame (the connection task's work: frame
/// parse and structural check; it takes the frame as the socket hands it over, so the caller
/// gives each its own handle, made before the clock starts), then per `per_call` updates what
/// the room task's `apply_batch` does (`src/realtime/ingest.rs`): `prepare_batch` (drop empty
/// updates, coalesce adjacent keystrokes of one sender), `RoomDoc::apply_updates_into` (yrs
/// decodes and applies) with each update tagged by its sender, and for each applied update
/// the frame to relay and the raw bytes queued for the log (both shared with the client's
/// frame), which `flush` gets every [`TICK`] updates. Like the room, it reuses its batch and
/// result vectors from one call to the next.
pub fn ingest(
    room: &mut RoomDoc,
    frames: Vec<Bytes>,
    per_call: usize,
    mut flush: impl FnMut(&[Bytes]),
) {
    /// The one connection every update comes from.
    const CONN: u64 = 1;
    let limits = Limits::default();
    let mut pending: Vec<Bytes> = Vec::with_capacity(TICK);
    let mut batch: Vec<(u64, IncomingUpdate)> = Vec::with_capacity(per_call);
    let mut out = Ingested::with_capacity(per_call);
    let mut frames = frames.into_iter();
    loop {
        batch.extend(frames.by_ref().take(per_call).map(|frame| {
            match decode_client_bytes(frame, &limits) {
                Ok(ClientMessage::Update(update)) => (CONN, update),
                Ok(other) => panic!("a trace frame decoded as {other:?}"),
                Err(error) => panic!("a trace frame does not decode: {error}"),
            }
        }));
        if batch.is_empty() {
            break;
        }
        // From here on, the steps of `apply_batch`.
        let mut prepared = prepare_batch(std::mem::take(&mut batch));
        let outcome = room.apply_updates_into(prepared.drain(..), MAX_UPDATES_PER_TXN, &mut out);
        if let Err(failure) = outcome {
            panic!("a trace update was refused: {:?}", failure.error);
        }
        if let Some(refused) = out.refused.first() {
            panic!("a trace update does not decode: {}", refused.error);
        }
        batch = prepared;
        for a in out.applied.drain(..) {
            // The room sends this frame to every connection but the sender; here there are none.
            black_box((a.tag, a.frame));
            pending.push(a.raw);
        }
        if pending.len() >= TICK {
            flush(&pending);
            pending.clear();
        }
    }
    if !pending.is_empty() {
        flush(&pending);
    }
}

/// Replays the trace as local automerge edits; `commit_each` commits after every trace
/// transaction (and `on_commit` sees the document after each commit, including the one that
/// creates the text object), otherwise there is one commit at the end.
pub fn automerge_local(
    trace: &Trace,
    commit_each: bool,
    mut on_commit: impl FnMut(&mut AutoCommit),
) -> (AutoCommit, automerge::ObjId) {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&[0xc5; 16][..]));
    let text = doc
        .put_object(ROOT, AUTOMERGE_TEXT, ObjType::Text)
        .expect("a text object");
    doc.commit();
    on_commit(&mut doc);
    for t in &trace.txns {
        for p in &t.patches {
            // Positions and lengths in code points: automerge's default without `utf16-indexing`.
            doc.splice_text(&text, p.pos, p.del as isize, &p.ins)
                .expect("a trace patch applies");
        }
        if commit_each {
            doc.commit();
            on_commit(&mut doc);
        }
    }
    doc.commit();
    (doc, text)
}

pub fn automerge_text(doc: &Automerge) -> String {
    let (_, text) = doc
        .get(ROOT, AUTOMERGE_TEXT)
        .expect("a readable root")
        .expect("the text object");
    doc.text(&text).expect("the text")
}

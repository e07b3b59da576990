//! One task per live room. It owns the room's document, the awareness states, the list of
//! connections and the room's persistence; connections talk to it through a `RoomHandle`. All
//! of a room's updates are applied in one order, here, and stored in batches from here.
//!
//! This module loads the room and holds what the task owns; its loop and the dispatch of what
//! it receives are in `dispatch`, its connections in `membership`, awareness in `awareness`.

use std::collections::HashMap;

use chatspace_crdt::RoomDoc;
use tokio::sync::mpsc;

use super::authorship::Owners;
use super::fanout::Fanout;
use super::handle::CloseCode;
use super::handle::{Command, RoomUnavailable};
use super::ingest::IngestBuffers;
use super::loading::{load_room, LoadedRoom};
use super::membership::Subscriber;
use super::offload::RoomFailure;
use super::persist::{DocPersistence, Target, SNAPSHOT_FORMAT};
use super::registry::Rooms;
use super::remote::RoomBus;
use crate::metrics::{timed_blocking, SNAPSHOT_ENCODE_SECONDS};

/// Loads a room and runs it until it is idle, the server stops, or it fails.
pub async fn run(room_id: i64, rooms: Rooms, mut rx: mpsc::Receiver<Command>) {
    let store = rooms.store().clone();
    // Subscribed before the database is read, so that nothing other nodes publish falls
    // between the two.
    let mut remote = match rooms.bus() {
        Some(bus) => Some(RoomBus::subscribe(bus, room_id).await),
        None => None,
    };
    let loaded = match load_room(&store, room_id).await {
        Ok(loaded) => loaded,
        Err(reason) => {
            // Nothing is written for a room we cannot read: its rows stay exactly as they are.
            tracing::error!(%reason, "room refused");
            rooms.remove(room_id);
            rx.close();
            while let Some(command) = rx.recv().await {
                if let Command::Join { reply, .. } = command {
                    let _ = reply.send(Err(RoomUnavailable));
                }
            }
            return;
        }
    };
    let LoadedRoom {
        doc,
        stored,
        compact_now,
        covers,
        owners,
    } = loaded;
    if let Some(remote) = &mut remote {
        remote.loaded(covers);
    }
    let target = Target {
        room_id,
        store,
        bus: rooms.bus().cloned(),
    };
    let persistence = DocPersistence::start(
        target,
        covers,
        stored.updates.len(),
        rooms.config().compact_after_updates,
        rooms.tasks(),
        rooms.shutdown().clone(),
    );
    tracing::info!(
        chars = doc.text().chars().count(),
        log_entries = stored.updates.len(),
        "room loaded"
    );
    drop(stored);
    let rooms_pacing = rooms.config().pacing();
    let mut room = LiveRoom {
        room_id,
        rooms,
        rx,
        subscribers: HashMap::new(),
        doc,
        persistence,
        buffers: IngestBuffers::default(),
        remote,
        deleted: false,
        owners,
        fanout: Fanout::new(rooms_pacing),
    };
    // The log did not replay as a whole: a snapshot of what loaded replaces it.
    let exit = match compact_now {
        true => room.compact(true).await.err().map(Exit::Failed),
        false => None,
    };
    let exit = match exit {
        Some(exit) => exit,
        None => room.serve().await,
    };
    if let Exit::Deleted = exit {
        // Nothing is saved for a room that is gone; the next join (if any got past admission)
        // finds no room and is closed by its re-check.
        room.rooms.remove(room_id);
        room.rx.close();
        room.close_all(CloseCode::UnknownRoom);
        tracing::info!("room deleted; its sockets are closed");
        return;
    }
    if let Exit::Failed(failure) = &exit {
        metrics::counter!(crate::metrics::ROOM_FAILURES, "kind" => failure.kind()).increment(1);
        tracing::error!(%failure, "the room stops; its sockets are closed and the next join reloads it");
        room.close_all(CloseCode::TryAgainLater);
    }
    // When the document is gone (its thread may still be running), what was applied before is
    // stored, and the empty stand-in is never snapshotted.
    let lost = matches!(&exit, Exit::Failed(failure) if failure.lost_document());
    if !lost {
        if let Err(failure) = room.compact(true).await {
            tracing::error!(%failure, "a snapshot of the room could not be made; its log is kept");
        }
    }
    room.persistence.settle().await;
    match exit {
        Exit::Idle => tracing::info!("room saved and unloaded"),
        Exit::Shutdown => tracing::info!("room saved for shutdown"),
        Exit::Failed(_) => room.rooms.remove(room_id),
        Exit::Deleted => {}
    }
}

/// Why the loop ended.
pub(super) enum Exit {
    Idle,
    Shutdown,
    /// The room cannot go on (see [`RoomFailure`]); every connection is closed with 1013 and
    /// reconnects to a freshly loaded room.
    Failed(RoomFailure),
    /// The room was deleted (here or on another node): nothing is saved.
    Deleted,
}

/// A loaded room: what the room task owns.
pub(super) struct LiveRoom {
    pub(super) room_id: i64,
    pub(super) rooms: Rooms,
    /// The commands of every connection, in one order.
    pub(super) rx: mpsc::Receiver<Command>,
    pub(super) subscribers: HashMap<u64, Subscriber>,
    pub(super) doc: RoomDoc,
    pub(super) persistence: DocPersistence,
    pub(super) buffers: IngestBuffers,
    /// The room's side of the bus, when this node has other nodes.
    pub(super) remote: Option<RoomBus>,
    /// Another node deleted the room: the task stops without saving.
    pub(super) deleted: bool,
    /// Who owns each Yjs client id written under in the room (see `authorship`).
    pub(super) owners: Owners,
    /// Relays held until the end of the tick (see `fanout`).
    pub(super) fanout: Fanout,
}

impl LiveRoom {
    /// Snapshots the document (encoded on the blocking pool) and hands the snapshot to the
    /// writer when the log is long enough, or with `force` whenever it is not empty. Only the
    /// encode holds the document: the writer checks the snapshot (a cold load of it) and
    /// compresses it while the room goes on.
    pub(super) async fn compact(&mut self, force: bool) -> Result<(), RoomFailure> {
        if !self.persistence.compaction_due(force) {
            return Ok(());
        }
        if self.remote.is_some() {
            // Other nodes append to the log too: the writer rebuilds the snapshot from what is
            // stored, which this document may not hold all of yet.
            self.persistence.snapshot(None);
            return Ok(());
        }
        match self
            .with_doc(|doc| {
                timed_blocking(SNAPSHOT_ENCODE_SECONDS, || {
                    doc.encode_unchecked_snapshot(SNAPSHOT_FORMAT)
                })
            })
            .await?
        {
            Ok(data) => self.persistence.snapshot(Some(data)),
            Err(error) => {
                // The log still holds everything; compaction waits for a healthy document.
                tracing::error!(%error, "encoding a snapshot failed; the log is kept");
                self.persistence.postpone_compaction();
            }
        }
        Ok(())
    }
}

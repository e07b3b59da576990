//! A room's document as the database holds it: its snapshot, then every log entry that replays.

use chatspace_crdt::Recovered;

use crate::error::AppError;
use crate::state::AppState;
use crate::store::Store;

/// The stored document of a room, read.
#[derive(Debug, Clone)]
pub struct CurrentDocument {
    pub text: String,
    /// The whole document as one Yjs v1 update.
    pub state: Vec<u8>,
    /// The newest log entry it holds.
    pub upto_seq: i64,
}

/// Rebuilds the room's stored document on the blocking pool (a large one takes tens of
/// milliseconds). Log entries that do not replay are left out, as loading the room does; only
/// the room's own load sets them aside in quarantine.
pub(super) async fn current_document(
    store: &Store,
    room_id: i64,
) -> anyhow::Result<CurrentDocument> {
    let stored = store.load_document(room_id).await?;
    tokio::task::spawn_blocking(move || {
        let Recovered { doc, .. } = crate::realtime::rebuild(&stored)?;
        Ok(CurrentDocument {
            text: doc.text(),
            state: doc.encode_state_as_update_v1()?,
            upto_seq: stored.last_seq,
        })
    })
    .await?
}

/// The room's document as its clients see it: a room live on this node first stores everything
/// it has applied, then the stored document is read.
pub(super) async fn flushed_document(
    state: &AppState,
    room_id: i64,
) -> Result<CurrentDocument, AppError> {
    state
        .rooms
        .flush(room_id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(current_document(&state.store, room_id).await?)
}

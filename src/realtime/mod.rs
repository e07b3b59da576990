//! Realtime: the room socket (`/ws/{name}`, the y-websocket protocol plus chat, see
//! `docs/protocol.md`) and one task per live room that owns the document, the awareness states,
//! the connections and the room's persistence.

mod authorship;
mod awareness;
mod chat;
mod connection;
mod coverage;
mod dispatch;
mod enforce;
mod fanout;
mod gate;
mod handle;
mod ingest;
mod loading;
mod membership;
mod mentions;
mod offload;
mod persist;
mod ratelimit;
mod registry;
mod remote;
mod room;
mod socket;
mod sockets;
mod submit;

use axum::routing::get;
use axum::Router;

pub use enforce::Renewed;
pub(crate) use fanout::Pacing;
pub use handle::CloseCode;
pub use registry::{AccessChange, Rooms};
pub use submit::SubmitError;

pub(crate) use loading::rebuild;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws/{name}", get(socket::room_socket))
}

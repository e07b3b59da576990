//! `chatspace-crdt`: the room document, the room socket protocol and snapshots of ChatSpace.
//!
//! No I/O happens here: bytes go in, frames to send and bytes to store come out. The server
//! owns one [`RoomDoc`] per live room on that room's task; connection tasks decode frames with
//! [`codec::decode_client_bytes`] (which checks the structure of an update; yrs decodes it on
//! the room task, just before applying it) and hand the result to the room.
//!
//! Map of the crate:
//! - [`codec`]: client frames in, server frames out, per `docs/protocol.md`
//!   - [`codec::lib0`]: bounds-checked lib0 reader and writer (also for the load generator's
//!     Hocuspocus envelope)
//!   - [`codec::preflight`]: structural checks of v1 updates and state vectors before yrs
//!     sees them (no allocation bombs, no unbounded recursion)
//!   - `codec::awareness`: awareness update layout ([`codec::AwarenessUpdate`])
//!   - `codec::chat`: chat JSON ([`codec::ChatRequest`], [`codec::ChatEvent`])
//!   - [`codec::client`]: the client side, for tests, benches and the load generator
//! - [`room`]: [`RoomDoc`], the yrs document (text root `colabspace`) and awareness states
//!   - `room::batch`: integrating updates, several per transaction, with poisoning
//!   - `room::awareness`: awareness states with y-protocols clock rules
//! - [`presence`]: what one connection may say in the awareness states (its client ids, its name)
//! - [`snapshot`]: snapshot encoding (v1, v2, v2 + zstd), its check, and offline compaction
//! - [`history`]: differences between texts, and the edits that restore an earlier text
//! - `guard`: containment of panics raised inside yrs

pub mod codec;
mod guard;
pub mod history;
pub mod presence;
pub mod room;
pub mod snapshot;

pub use codec::{
    decode_client_bytes, decode_client_frame, ClientMessage, DecodeError, IncomingUpdate, Limits,
};
pub use room::{
    Applied, ApplyError, AwarenessChange, AwarenessError, BatchFailure, BatchOutcome, EncodeError,
    Ingested, LoadError, Recovered, Refused, RoomDoc, MAX_UPDATES_PER_TXN, TEXT_NAME,
};
pub use snapshot::{compact, encode_snapshot, SnapshotError, SnapshotFormat, UncheckedSnapshot};
/// Re-exported so that callers name the same yrs types this crate uses.
pub use yrs;
pub use yrs::{ClientID, StateVector};

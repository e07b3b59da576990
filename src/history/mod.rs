//! History: versions of each room's text, saved automatically and by hand, listed, viewed and
//! compared with the current text, and exported.
//!
//! Versions are rows of their own (`doc_versions`), apart from the update log and its
//! snapshots, so compaction never touches them. Each holds the text and the whole CRDT state at
//! a log position, and who wrote to the log since the version before it. Any node may save one:
//! they are built from what the database holds (the room's snapshot and log), never from one
//! node's memory, and an automatic version of a log position is saved once however many nodes
//! try (a unique index).

mod document;
mod historian;
mod import;
mod restore;
mod routes;
mod timeline;

pub use historian::run as run_historian;
pub use routes::router;

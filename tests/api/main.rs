//! Integration tests: the real server on a free port, a fresh SQLite file per test, real HTTP
//! clients and real WebSocket clients. `tests/postgres` runs the same tests on PostgreSQL.

/// The database these tests run on.
const BACKEND: helpers::Backend = helpers::Backend::Sqlite;

mod access;
mod access_forms;
mod access_helpers;
mod account_forms;
mod account_settings;
mod accounts;
mod chat;
mod chat_edits;
mod comments;
mod ended_sessions;
mod fanout;
mod helpers;
mod history;
mod hostile;
mod imports;
mod links;
mod live_access;
mod lockout;
mod members;
mod metrics;
mod operator;
mod persistence;
mod presence;
mod realtime;
mod restart;
mod restore;
mod room_deletion;
mod rooms;
mod security;
mod shared_log;
mod slow_database;
mod sockets;
mod stored_snapshots;
mod throttle;
mod timeline;
mod viewers;
mod websocket;
mod ws;
mod ws_chat;

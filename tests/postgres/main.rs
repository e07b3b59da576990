//! The API suite (`tests/api`) again, every test on a PostgreSQL database of its own, created on
//! the server at `CHATSPACE_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`) and
//! dropped when the test ends. Without that server they are skipped, saying so (see
//! `helpers::service_missing`); under CI they fail.

/// The database these tests run on.
const BACKEND: helpers::Backend = helpers::Backend::Postgres;

#[path = "../api/access.rs"]
mod access;
#[path = "../api/access_forms.rs"]
mod access_forms;
#[path = "../api/access_helpers.rs"]
mod access_helpers;
#[path = "../api/account_forms.rs"]
mod account_forms;
#[path = "../api/account_settings.rs"]
mod account_settings;
#[path = "../api/accounts.rs"]
mod accounts;
#[path = "../api/chat.rs"]
mod chat;
#[path = "../api/chat_edits.rs"]
mod chat_edits;
#[path = "../api/comments.rs"]
mod comments;
#[path = "../api/ended_sessions.rs"]
mod ended_sessions;
#[path = "../api/fanout.rs"]
mod fanout;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/history.rs"]
mod history;
#[path = "../api/hostile.rs"]
mod hostile;
#[path = "../api/imports.rs"]
mod imports;
#[path = "../api/links.rs"]
mod links;
#[path = "../api/live_access.rs"]
mod live_access;
#[path = "../api/lockout.rs"]
mod lockout;
#[path = "../api/members.rs"]
mod members;
#[path = "../api/metrics.rs"]
mod metrics;
#[path = "../api/operator.rs"]
mod operator;
#[path = "../api/persistence.rs"]
mod persistence;
#[path = "../api/presence.rs"]
mod presence;
#[path = "../api/realtime.rs"]
mod realtime;
#[path = "../api/restart.rs"]
mod restart;
#[path = "../api/restore.rs"]
mod restore;
#[path = "../api/room_deletion.rs"]
mod room_deletion;
#[path = "../api/rooms.rs"]
mod rooms;
#[path = "../api/security.rs"]
mod security;
#[path = "../api/shared_log.rs"]
mod shared_log;
#[path = "../api/slow_database.rs"]
mod slow_database;
#[path = "../api/sockets.rs"]
mod sockets;
#[path = "../api/stored_snapshots.rs"]
mod stored_snapshots;
#[path = "../api/throttle.rs"]
mod throttle;
#[path = "../api/timeline.rs"]
mod timeline;
#[path = "../api/viewers.rs"]
mod viewers;
#[path = "../api/websocket.rs"]
mod websocket;
#[path = "../api/ws.rs"]
mod ws;
#[path = "../api/ws_chat.rs"]
mod ws_chat;

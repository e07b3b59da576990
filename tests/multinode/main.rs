//! Several nodes of one deployment: real servers sharing one PostgreSQL database (created and
//! dropped per test, as in `tests/postgres`) and joined by a real Redis (at
//! `CHATSPACE_TEST_REDIS`, default `redis://127.0.0.1:6379`, under a key prefix of the test's
//! own, deleted when it ends). Clients on different nodes must see one room.

/// The database these tests run on.
const BACKEND: helpers::Backend = helpers::Backend::Postgres;

#[path = "../api/access_forms.rs"]
#[allow(dead_code)]
mod access_forms;
#[path = "../api/access_helpers.rs"]
#[allow(dead_code)]
mod access_helpers;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../api/ws.rs"]
#[allow(dead_code)]
mod ws;
#[path = "../api/ws_chat.rs"]
#[allow(dead_code)]
mod ws_chat;

mod access;
mod chat_edits;
mod cluster;
mod crossing;
mod heartbeat;
mod history;
mod outage;
mod proxy;
mod reconnect;

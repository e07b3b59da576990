//! ChatSpace: a self-hosted real-time chat and collaborative editor.
//!
//! The map:
//! - [`config`]: flags and environment variables; [`telemetry`]: logging.
//! - [`startup`]: `Application::build(config)`, `port()`, `run_until_stopped()`.
//! - [`http`]: every router merged, with the layers each request passes through.
//! - [`accounts`]: register, log in, log out. [`auth`]: sessions, CSRF, passwords, throttling.
//! - [`rooms`]: the start page, creating rooms, the room page, chat history over HTTP.
//! - [`realtime`]: the room socket (y-websocket protocol plus chat) and one task per live room.
//! - [`store`]: the database (SQLite or PostgreSQL), the only place with SQL.
//! - [`bus`]: Redis Streams between the nodes that share a PostgreSQL database.
//! - [`views`]: the HTML pages. [`assets`]: the embedded CSS and JS. [`health`]: `/healthz`.
//! - The room document and the protocol codec live in the `chatspace-crdt` crate (no I/O).

pub mod accounts;
pub mod assets;
pub mod auth;
pub mod bus;
pub mod clock;
pub mod config;
pub mod error;
pub mod health;
pub mod history;
pub mod http;
pub mod metrics;
pub mod operator;
pub mod realtime;
pub mod rooms;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod views;

//! Logging: `tracing` to stderr, filtered by `RUST_LOG`, as text or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is not set: our own info lines and one line per request.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn";

/// Installs the global subscriber. Call once, from `main`.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

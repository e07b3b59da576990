//! The options `run` and `idle` share: which server to load, how to reach it, and how to report.

use crate::wire::Framing;

/// The server under test and the report's form.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Base URL rooms are appended to: ws://HOST:PORT/ws (ChatSpace), ws://HOST:PORT (Node).
    #[arg(long)]
    pub url: String,
    #[arg(long, value_enum, default_value_t = Framing::YWebsocket)]
    pub framing: Framing,
    /// Server process to sample for CPU and RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Sockets opened at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// A name for the server in the report.
    #[arg(long)]
    pub label: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

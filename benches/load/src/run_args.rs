//! The options of the `run` subcommand.

use crate::mix::MixArgs;
use crate::target::TargetArgs;

/// Arguments of the `run` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Base URL the receivers of each room connect to, when not `--url`: another node of the
    /// same deployment, so that every edit crosses from the writers' node to the readers'.
    /// Accounts and rooms are still made through `--url` (the nodes share their sessions).
    #[arg(long)]
    pub reader_url: Option<String>,
    /// The readers' server process (with --reader-url), sampled for CPU and RSS like
    /// `--server-pid`.
    #[arg(long)]
    pub reader_server_pid: Option<u32>,
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
    /// Clients per room.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Writers per room (the first clients of each room).
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
    /// Edits per second per writer; with --trace, transactions per second per agent (0: as
    /// fast as the causal order allows).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of typing before the measurement starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Random letters per edit, after the edit's 8-character marker (`marker.rs`).
    #[arg(long, default_value_t = 0)]
    pub chunk: usize,
    /// Edits a writer types in a row at its cursor before jumping to a random position (1:
    /// every edit at a random position).
    #[arg(long, default_value_t = 1)]
    pub run_length: u32,
    /// A writer's random positions fall among the text's first this many UTF-16 units (0:
    /// anywhere). yrs finds a position by walking the text's blocks from its start, so in a
    /// room the generator fills with tens of thousands of scattered inserts, positions anywhere
    /// cost each writer tens of microseconds an edit (40% of the generator's CPU at 32 x 800)
    /// and made the generator, not the server, the wall; the servers' work does not depend on
    /// where an insert lands (they integrate by the insert's neighbours' ids).
    #[arg(long, default_value_t = 512)]
    pub edit_window: u32,
    /// Replay a concurrent trace (a path, or a name under $CHATSPACE_TRACES, default
    /// ../shared/traces) instead of random typing; agents are the first clients of each room.
    #[arg(long)]
    pub trace: Option<String>,
    /// Longest a trace replay may take, in seconds.
    #[arg(long, default_value_t = 300.0)]
    pub max_secs: f64,
    /// Receivers in the whole run (spread over the rooms, one per room first) that decode
    /// everything into a full document for the convergence check, besides the writers. The
    /// others only scan frames for the writers' markers (a trace replay: decode each update's
    /// clocks).
    #[arg(long, default_value_t = 4)]
    pub doc_sample: usize,
    /// Seconds to wait after the writers stop for the last deliveries.
    #[arg(long, default_value_t = 30.0)]
    pub drain: f64,
    /// A file written with `start` when the measurement window opens and `end` appended once
    /// the writers stopped, for a profiler to attach to the server over the window.
    #[arg(long)]
    pub window_file: Option<std::path::PathBuf>,
    /// Room name prefix (random by default, so every run starts with empty rooms).
    #[arg(long)]
    pub room_prefix: Option<String>,
    #[command(flatten)]
    pub mix: MixArgs,
}

impl RunArgs {
    /// The base URL client `i` of a room connects to: writers and agents (the first clients)
    /// to `--url`, the receivers to `--reader-url` when there is one.
    pub fn base_url(&self, i: usize) -> &str {
        match (&self.reader_url, i < self.writers) {
            (Some(reader), false) => reader,
            _ => &self.target.url,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::RunArgs;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(extra: &[&str]) -> RunArgs {
        let base = ["chatspace-load", "--url", "ws://one/ws", "--writers", "2"];
        Cli::parse_from(base.iter().chain(extra)).run
    }

    #[test]
    fn writers_connect_to_the_url_and_receivers_to_the_reader_url() {
        let split = args(&["--reader-url", "ws://two/ws"]);
        let bases: Vec<&str> = (0..4).map(|i| split.base_url(i)).collect();
        assert_eq!(
            bases,
            ["ws://one/ws", "ws://one/ws", "ws://two/ws", "ws://two/ws"]
        );
        let one = args(&[]);
        assert!((0..4).all(|i| one.base_url(i) == "ws://one/ws"));
    }
}

//! `chatspace-load`: a y-websocket load generator and scriptable client for ChatSpace and the
//! reference Node servers. Build with `cargo build --release -p chatspace-load`.
//!
//! # Usage
//!
//! One scriptable client (JSON lines; used by the Node interop suite next to stock Yjs clients):
//! ```text
//! chatspace-load client --url ws://127.0.0.1:PORT/ws/ROOM [--cookie "chatspace_session=..."]
//!                       [--client-id N] [--framing y-websocket|hocuspocus]
//! stdin : {"op":"insert","index":N,"text":"…"}  {"op":"delete","index":N,"len":N}  {"op":"text"}
//!         {"op":"disconnect"}  {"op":"connect"}  {"op":"quit"}        (end of input = quit)
//! stdout: {"event":"synced","text":"…"}  {"event":"text","text":"…"}  {"event":"disconnected"}
//!         {"event":"closed","code":N}  {"event":"error","message":"…"}
//! ```
//! Indices count UTF-16 code units, as in Yjs. The exit status is 0 after `quit`, 1 when the
//! first connection fails, 2 when the server sends something undecodable.
//!
//! Load (R rooms × C clients, W writers per room typing at HZ each; or a concurrent trace):
//! ```text
//! chatspace-load run --url ws://127.0.0.1:PORT/ws --rooms R --clients C --writers W --rate HZ
//!                    --duration SECS [--framing y-websocket|hocuspocus] [--server-pid PID]
//!                    [--sign-up [--mix]] [--trace PATH] [--json]
//!                    [--reader-url ws://HOST:PORT2/ws [--reader-server-pid PID2]]
//! ```
//! Idle connections and the server memory they cost:
//! ```text
//! chatspace-load idle --url ws://127.0.0.1:PORT/ws --connections N [--server-pid PID]
//!                     [--sign-up] [--json]
//! ```
//! `--url` is the base the room name is appended to, as y-websocket's provider does:
//! `ws://host:port/ws` for ChatSpace, `ws://host:port` for y-websocket's `bin/server.cjs` and for
//! Hocuspocus (`--framing hocuspocus`). ChatSpace needs `--sign-up`: the generator registers an
//! account through the server's forms, creates its rooms through the "create room" form and
//! opens every socket with that account's session cookie, so the server must allow one user
//! that many sockets (`--max-sockets-per-user`). `--reader-url` sends each room's receivers to
//! another node of the same deployment (writers and sign-up stay on `--url`), so that every
//! edit is measured across the nodes' bus. `--mix` adds the room page's chat traffic
//! (ChatSpace only; see `mix`). Results are explained in `docs/benchmarks.md`;
//! `benches/load/run.sh` runs everything.
//!
//! Map: `account` (signing up, creating rooms), `mix` (the page's chat traffic), `wire`
//! (Hocuspocus envelope), `conn` (sockets), `replica` (client documents),
//! `client` (the `client` subcommand), `marker` and `marks` (the marker each typed edit
//! carries, found by scanning frames, and its send time), `tracker` (edit → delivery
//! latency), `cost` (per delivered edit: frames, bytes, server CPU; generator-bound steps), `peer` (one load
//! connection), `agent` and `trace` (trace replay), `run` and `run_args` (the `run` subcommand), `idle`,
//! `procstat` (server CPU and RSS from /proc), `report` (tables and JSON), `convergence` (the
//! end-of-run check), `percentiles`, `target` (the
//! options `run` and `idle` share).

mod account;
mod agent;
mod client;
mod conn;
mod convergence;
mod cost;
mod idle;
mod marker;
mod marks;
mod mix;
mod peer;
mod percentiles;
mod procstat;
mod replica;
mod report;
mod run;
mod run_args;
mod target;
mod trace;
mod tracker;
mod wire;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "chatspace-load",
    about = "y-websocket load generator and scriptable client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One scriptable client: JSON commands on stdin, JSON events on stdout.
    Client(client::ClientArgs),
    /// Load: R rooms × C clients, W writers per room typing (or a trace replayed).
    Run(run::RunArgs),
    /// Opens N idle connections and reports the server memory each one costs.
    Idle(idle::IdleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Client(args) => client::run(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Idle(args) => idle::run(args).await,
        }
    })
}

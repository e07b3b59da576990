//! `chatspace-load run`: R rooms × C clients against one server, or against two nodes of one
//! deployment (writers on one, receivers on the other: `--reader-url`). Every client connects
//! and syncs first; then W writers per room type for a warm-up and the measured window (or the
//! agents of a trace replay it); then everyone drains until each writer's last edit has
//! arrived, and the rooms are checked for convergence.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};
use yrs::{ClientID, StateVector};

use crate::agent::{Agent, RoomTrace};
use crate::conn::room_url;
use crate::mix::MixArgs;
use crate::peer::{Peer, Role, Shared};
use crate::procstat::{self, Sampler};
use crate::report::{self, Report};
use crate::target::TargetArgs;
use crate::trace::{self, Trace};
use crate::tracker::{Schedule, Tracker};

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
    /// Letters per edit.
    #[arg(long, default_value_t = 4)]
    pub chunk: usize,
    /// Edits a writer types in a row at its cursor before jumping to a random position (1:
    /// every edit at a random position).
    #[arg(long, default_value_t = 1)]
    pub run_length: u32,
    /// Replay a concurrent trace (a path, or a name under $CHATSPACE_TRACES, default
    /// ../shared/traces) instead of random typing; agents are the first clients of each room.
    #[arg(long)]
    pub trace: Option<String>,
    /// Longest a trace replay may take, in seconds.
    #[arg(long, default_value_t = 300.0)]
    pub max_secs: f64,
    /// Receivers per room that keep a full document for the convergence check, besides the
    /// writers (the others only decode what they receive).
    #[arg(long, default_value_t = 2)]
    pub doc_sample: usize,
    /// Seconds to wait after the writers stop for the last deliveries.
    #[arg(long, default_value_t = 30.0)]
    pub drain: f64,
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

pub async fn run(mut args: RunArgs) -> ExitCode {
    let trace = match load_trace(&args) {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("{error:#}");
            return ExitCode::FAILURE;
        }
    };
    if args.reader_server_pid.is_some() && args.reader_url.is_none() {
        eprintln!("--reader-server-pid is the process behind --reader-url: give both");
        return ExitCode::FAILURE;
    }
    if let Some(problem) = mix_problem(&args, trace.is_some()) {
        eprintln!("{problem}");
        return ExitCode::FAILURE;
    }
    if let Some(t) = &trace {
        args.writers = t.num_agents;
        args.clients = args.clients.max(t.num_agents);
        args.warmup = 0.0;
    }
    if args.rooms == 0 || args.clients == 0 || args.writers > args.clients || args.rate < 0.0 {
        eprintln!("need rooms >= 1, clients >= 1, writers <= clients and rate >= 0");
        return ExitCode::FAILURE;
    }
    let report = match drive(&args, trace.clone()).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("run failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    match args.target.json {
        true => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
        false => print!("{}", report.table()),
    }
    match report.converged {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(3),
    }
}

/// Why `--mix` cannot be used with these options, if it cannot.
fn mix_problem(args: &RunArgs, replaying: bool) -> Option<&'static str> {
    if !args.mix.mix {
        return None;
    }
    if !args.target.sign_up {
        return Some(
            "--mix needs ChatSpace (--sign-up): the Node servers do not speak the chat frames",
        );
    }
    if replaying {
        return Some("--mix is for typing writers, not a trace replay");
    }
    args.mix.problem()
}

fn load_trace(args: &RunArgs) -> anyhow::Result<Option<Arc<Trace>>> {
    let Some(name) = &args.trace else {
        return Ok(None);
    };
    match trace::resolve(name) {
        Ok(path) => Ok(Some(Arc::new(trace::load(&path)?))),
        Err(tried) => {
            eprintln!(
                "NOTICE: trace {name:?} not found (tried {tried:?}; set CHATSPACE_TRACES); \
                 falling back to generated typing"
            );
            Ok(None)
        }
    }
}

async fn drive(args: &RunArgs, trace: Option<Arc<Trace>>) -> Result<Report, String> {
    let total = args.rooms * args.clients;
    procstat::raise_open_files(total as u64 + 256);
    // Fresh client ids per run: a reused id with a fresh document would corrupt a room.
    let base = u64::from(rand::random::<u32>()) * 1_000_000;
    let id = |room: usize, i: usize| ClientID::new(base + (room * args.clients + i) as u64 + 1);
    let prefix = args
        .room_prefix
        .clone()
        .unwrap_or_else(|| format!("load-{:08x}", rand::random::<u32>()));
    let rooms = args.target.prepare(&prefix, args.rooms).await?;
    let tracker = Arc::new(Tracker::new(
        (0..args.rooms)
            .flat_map(|r| (0..args.writers).map(move |i| (r, i)))
            .map(|(r, i)| id(r, i)),
    ));
    let (ready_tx, mut ready_rx) = mpsc::channel(total);
    let (go_tx, go_rx) = watch::channel(None);
    let (finished_tx, mut finished_rx) = mpsc::unbounded_channel();
    let (targets_tx, targets_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        tracker: tracker.clone(),
        framing: args.target.framing,
        cookie: rooms.cookie.clone(),
        mix: args.mix.mix.then_some(args.mix),
        connect_gate: Arc::new(Semaphore::new(args.target.connect_concurrency.max(1))),
        ready: ready_tx,
        go: go_rx,
        finished: finished_tx,
        targets: targets_rx,
        drain: Duration::from_secs_f64(args.drain),
    });
    let mut handles = Vec::with_capacity(total);
    for (room, name) in rooms.names.iter().enumerate() {
        let room_trace = trace.as_ref().map(|t| {
            Arc::new(RoomTrace::new(
                t.clone(),
                (0..t.num_agents).map(|a| id(room, a)).collect(),
            ))
        });
        for i in 0..args.clients {
            let role = match (&room_trace, i < args.writers) {
                (Some(rt), true) => Role::Agent {
                    agent: Agent::new(rt.clone(), i),
                    rate: args.rate,
                },
                (None, true) => Role::Writer {
                    rate: args.rate,
                    chunk: args.chunk,
                    run: args.run_length,
                    cursor: None,
                },
                (_, false) => Role::Receiver,
            };
            let full = i < args.writers + args.doc_sample;
            let url = room_url(args.base_url(i), name);
            let peer = Peer::new(room, id(room, i), url, role, full, shared.clone());
            handles.push(tokio::spawn(peer.run()));
        }
    }
    drop(shared);
    let mut failures = Vec::new();
    for _ in 0..total {
        match tokio::time::timeout(Duration::from_secs(180), ready_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(error))) => failures.push(error),
            Ok(None) | Err(_) => {
                failures.push("clients did not finish connecting in time".into());
                break;
            }
        }
    }
    if !failures.is_empty() {
        drop(go_tx);
        for handle in &handles {
            handle.abort();
        }
        return Err(format!(
            "{} client(s) could not connect; first: {}",
            failures.len(),
            failures[0]
        ));
    }

    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let until = match trace {
        Some(_) => Duration::from_secs_f64(args.max_secs),
        None => Duration::from_secs_f64(args.duration),
    };
    let schedule = Schedule {
        start,
        measure_from,
        measure_until: measure_from + until,
    };
    tracker.set_schedule(schedule);
    let _ = go_tx.send(Some(schedule));
    tokio::time::sleep_until(tokio::time::Instant::from_std(measure_from)).await;
    let servers = [args.target.server_pid, args.reader_server_pid]
        .map(|pid| pid.map(|pid| Sampler::start(Some(pid))));
    let generator = Sampler::start(None);

    // Writers and agents report their final clocks when they stop.
    let mut targets = vec![StateVector::default(); args.rooms];
    let writers = args.rooms * args.writers;
    let give_up = tokio::time::Instant::from_std(schedule.measure_until) + Duration::from_secs(60);
    for _ in 0..writers {
        match tokio::time::timeout_at(give_up, finished_rx.recv()).await {
            Ok(Some((room, client, clock))) => targets[room].set_max(client, clock),
            Ok(None) | Err(_) => break,
        }
    }
    let mut server_usage = [None, None];
    for (usage, sampler) in server_usage.iter_mut().zip(servers) {
        if let Some(sampler) = sampler {
            *usage = Some(sampler.finish().await);
        }
    }
    let generator = generator.finish().await;
    let _ = targets_tx.send(Some(Arc::new(targets)));

    let mut peers = Vec::with_capacity(total);
    for handle in handles {
        match handle.await {
            Ok(report) => peers.push(report),
            Err(error) => return Err(format!("a client task failed: {error}")),
        }
    }
    Ok(report::summarise(
        args,
        trace.as_deref(),
        &peers,
        &schedule,
        server_usage,
        generator,
    ))
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

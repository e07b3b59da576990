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
use crate::peer::{Peer, Role, Shared};
use crate::procstat::{self, Sampler};
use crate::report::{self, Report};
use crate::trace::{self, Trace};
use crate::{marker, marks};

pub use crate::run_args::RunArgs;
use crate::tracker::{Schedule, Tracker};

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
    let writers = args.rooms * args.writers;
    if args.rooms == 0
        || args.clients == 0
        || args.writers > args.clients
        || args.rate < 0.0
        || writers >= marker::LIMIT as usize
    {
        eprintln!(
            "need rooms >= 1, clients >= 1, writers <= clients, rate >= 0 and fewer than {} writers in all",
            marker::LIMIT
        );
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

/// Appends `line` to the `--window-file`, if any (a failure is reported, not fatal).
fn mark_window(args: &RunArgs, line: &str) {
    let Some(path) = &args.window_file else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, line.as_bytes()));
    if let Err(error) = written {
        eprintln!("cannot write the window file {}: {error}", path.display());
    }
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
    // Writer `r * writers + i` of the run is the one whose markers carry that index.
    let speed_up = if args.mix.mix {
        args.mix.speed_up()
    } else {
        1.0
    };
    let capacity = marks::capacity(args.rate * speed_up, args.warmup + args.duration);
    let tracker = Arc::new(Tracker::new(
        (0..args.rooms)
            .flat_map(|r| (0..args.writers).map(move |i| (r, i)))
            .map(|(r, i)| id(r, i)),
        capacity,
    ));
    let (ready_tx, mut ready_rx) = mpsc::channel(total);
    let (go_tx, go_rx) = watch::channel(None);
    let (finished_tx, mut finished_rx) = mpsc::unbounded_channel();
    let (targets_tx, targets_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        tracker: tracker.clone(),
        markers: trace.is_none(),
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
                    index: u32::try_from(room * args.writers + i).unwrap_or(u32::MAX),
                    made: 0,
                    rate: args.rate,
                    chunk: args.chunk,
                    run: args.run_length,
                    window: args.edit_window,
                    cursor: None,
                },
                (_, false) => Role::Receiver,
            };
            // Receivers are sampled across rooms: the first of every room, then the second...
            let order = i.saturating_sub(args.writers) * args.rooms + room;
            let full = i < args.writers || order < args.doc_sample;
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
    mark_window(args, "start\n");
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
    mark_window(args, "end\n");
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

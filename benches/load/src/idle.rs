//! `chatspace-load idle`: connections at rest. Opens N sockets spread over a few rooms, each
//! completing the sync handshake, then holds them without traffic and reads the server's
//! resident memory. One socket per room is opened first and the memory read again, so that the
//! rooms themselves are not charged to the connections.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::conn::{closed_with, room_url, Link, Received};
use crate::peer::READ_BUFFER;
use crate::procstat;
use crate::replica::Replica;
use crate::target::TargetArgs;
use crate::wire::{Framing, Inbound};
use chatspace_crdt::codec::client::ServerMessage;

/// Arguments of the `idle` subcommand.
#[derive(Debug, clap::Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, default_value_t = 5000)]
    pub connections: usize,
    /// Rooms the connections are spread over.
    #[arg(long, default_value_t = 10)]
    pub rooms: usize,
    /// Seconds to let the server settle before each memory reading.
    #[arg(long, default_value_t = 3.0)]
    pub settle: f64,
}

#[derive(Debug, Serialize)]
struct IdleReport {
    label: Option<String>,
    url: String,
    connections: usize,
    rooms: usize,
    connect_secs: f64,
    /// Server RSS in KiB: before anything, with one socket per room, with all sockets.
    rss_before_kib: u64,
    rss_rooms_kib: u64,
    rss_all_kib: u64,
    /// (all − rooms) / (connections − rooms), in bytes.
    bytes_per_connection: f64,
    /// (all − before) / connections, rooms included, in bytes.
    bytes_per_connection_with_rooms: f64,
    /// The generator's own RSS per socket, in bytes.
    client_bytes_per_connection: f64,
}

pub async fn run(args: IdleArgs) -> ExitCode {
    match measure(&args).await {
        Ok(report) => {
            if args.target.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                println!(
                    "  server                  {}",
                    report.label.as_deref().unwrap_or(&report.url)
                );
                println!(
                    "  idle connections        {} in {} rooms (opened in {:.1} s)",
                    report.connections, report.rooms, report.connect_secs
                );
                println!(
                    "  server RSS              {} KiB before, {} KiB with rooms, {} KiB with all",
                    report.rss_before_kib, report.rss_rooms_kib, report.rss_all_kib
                );
                println!(
                    "  bytes per connection    {:.0} (rooms included: {:.0})",
                    report.bytes_per_connection, report.bytes_per_connection_with_rooms
                );
                println!(
                    "  generator bytes/conn    {:.0}",
                    report.client_bytes_per_connection
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("idle failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn measure(args: &IdleArgs) -> Result<IdleReport, String> {
    if args.rooms == 0 || args.connections <= args.rooms {
        return Err("need at least one room and more connections than rooms".into());
    }
    let limit = procstat::raise_open_files(args.connections as u64 + 256);
    if limit < args.connections as u64 + 64 {
        return Err(format!(
            "the open-files limit is {limit}; raise it (ulimit -n) for {} sockets",
            args.connections
        ));
    }
    let settle = Duration::from_secs_f64(args.settle);
    let rss = |pid: Option<u32>| procstat::read(pid).map_or(0, |r| r.rss_kib);
    let server = args.target.server_pid;
    let prefix = format!("idle-{:08x}", rand::random::<u32>());
    let rooms = args.target.prepare(&prefix, args.rooms).await?;
    let urls: Vec<String> = rooms
        .names
        .iter()
        .cycle()
        .take(args.connections)
        .map(|room| room_url(&args.target.url, room))
        .collect();
    let rss_before = rss(server);
    let client_before = rss(None);
    let started = Instant::now();
    let cookie = rooms.cookie.as_deref();
    let mut links = open_all(&urls[..args.rooms], args, cookie).await?;
    tokio::time::sleep(settle).await;
    let rss_rooms = rss(server);
    links.extend(open_all(&urls[args.rooms..], args, cookie).await?);
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(settle).await;
    let rss_all = rss(server);
    let client_all = rss(None);
    drop(links);
    let n = args.connections as f64;
    let kib = |a: u64, b: u64| (a as f64 - b as f64) * 1024.0;
    Ok(IdleReport {
        label: args.target.label.clone(),
        url: args.target.url.clone(),
        connections: args.connections,
        rooms: args.rooms,
        connect_secs,
        rss_before_kib: rss_before,
        rss_rooms_kib: rss_rooms,
        rss_all_kib: rss_all,
        bytes_per_connection: kib(rss_all, rss_rooms) / (n - args.rooms as f64),
        bytes_per_connection_with_rooms: kib(rss_all, rss_before) / n,
        client_bytes_per_connection: kib(client_all, client_before) / n,
    })
}

/// Opens and syncs a socket to each URL, a bounded number at a time.
async fn open_all(
    urls: &[String],
    args: &IdleArgs,
    cookie: Option<&str>,
) -> Result<Vec<Link>, String> {
    let gate = Arc::new(Semaphore::new(args.target.connect_concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for url in urls {
        let (url, gate, framing) = (url.clone(), gate.clone(), args.target.framing);
        let cookie = cookie.map(str::to_owned);
        tasks.spawn(async move {
            let _permit = gate.acquire().await;
            open_synced(&url, framing, cookie.as_deref()).await
        });
    }
    let mut links = Vec::with_capacity(urls.len());
    while let Some(joined) = tasks.join_next().await {
        links.push(joined.map_err(|e| e.to_string())??);
    }
    Ok(links)
}

/// One socket through the sync handshake, with an empty (light) replica.
async fn open_synced(url: &str, framing: Framing, cookie: Option<&str>) -> Result<Link, String> {
    let replica = Replica::Light(Default::default());
    let mut link = Link::open(url, framing, cookie, READ_BUFFER)
        .await
        .map_err(|e| format!("{e:#}"))?;
    link.send(replica.step1())
        .await
        .map_err(|e| format!("{e:#}"))?;
    let (mut got_step2, mut sent_step2) = (false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !(got_step2 && sent_step2) {
        let received = tokio::time::timeout_at(deadline, link.recv())
            .await
            .map_err(|_| format!("{url}: no sync within 60 s"))?;
        match received {
            Received::Frame(Inbound::Message(ServerMessage::SyncStep1(sv))) => {
                link.send(replica.answer(&sv))
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                sent_step2 = true;
            }
            Received::Frame(Inbound::Message(ServerMessage::SyncStep2(_))) => got_step2 = true,
            Received::Frame(Inbound::Denied(reason)) => {
                return Err(format!("{url}: denied: {reason}"))
            }
            Received::Frame(_) => {}
            Received::Closed(code) => return Err(format!("{url}: {}", closed_with(code))),
            Received::Lost(reason) | Received::Undecodable(reason) => {
                return Err(format!("{url}: {reason}"))
            }
        }
    }
    Ok(link)
}

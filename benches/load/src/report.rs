//! The outcome of a `run`: throughput, latency, resource use and convergence, as a table for
//! people and as one JSON object (`--json`) for `benches/load/run.sh`.

use std::fmt::Write;

use serde::Serialize;

use std::time::Duration;

use crate::convergence::convergence;
use crate::cost::Costs;
use crate::mix::MixReport;
use crate::peer::PeerReport;
use crate::percentiles::{secs, Percentiles};
use crate::procstat::{self, Usage};
use crate::run::RunArgs;
use crate::trace::Trace;
use crate::tracker::Schedule;
use crate::wire::Framing;

/// Everything a run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub label: Option<String>,
    pub url: String,
    /// Where the receivers connected, when not `url` (another node of the deployment).
    pub reader_url: Option<String>,
    pub framing: Framing,
    /// `typing`, or `trace:NAME` for a replay.
    pub mode: String,
    pub rooms: usize,
    pub clients_per_room: usize,
    pub writers_per_room: usize,
    /// Edits per second per writer (transactions per second per agent for a replay; 0 means
    /// as fast as the causal order allows).
    pub rate_hz: f64,
    /// Letters per edit, and edits typed in a row before a writer jumps to a random position.
    pub chunk: usize,
    pub run_length: u32,
    /// Seconds of typing before the window.
    pub warmup_s: f64,
    /// Length of the measurement window in seconds (for a replay: from start to last delivery).
    pub window_s: f64,
    /// Edits made in all / inside the measurement window.
    pub sent_edits: u64,
    pub sent_measured: u64,
    /// Measured edits times the other clients of their room: what should be delivered.
    pub expected_deliveries: u64,
    /// Deliveries of measured edits (whenever they arrived) / `expected_deliveries`.
    pub delivered_measured: u64,
    pub delivery_ratio: f64,
    /// Edit deliveries to other clients per second inside the window: the throughput. An edit
    /// counts once per client it reaches, alone in a frame or inside a merged update.
    pub delivered_per_s: f64,
    /// How deliveries were counted: `marker` (typed edits, frames scanned for markers) or
    /// `clock` (a replay: updates decoded, edits told apart by their authors' clocks).
    pub counting: &'static str,
    /// What the offered load asks for: measured edits × other clients per second.
    pub offered_per_s: f64,
    /// What the requested rate asks for (rooms × writers × rate × other clients); more than
    /// `offered_per_s` when the writers could not send as fast as asked (server push-back).
    pub requested_per_s: f64,
    /// Edit → delivery latency at every other client, over all measured edits.
    pub latency_ms: Percentiles,
    /// The room page's chat traffic (`--mix`), when it was sent.
    pub mix: Option<MixReport>,
    pub errors: usize,
    pub reconnects: u32,
    pub error_samples: Vec<String>,
    pub server: Option<Usage>,
    /// The readers' server (`--reader-server-pid`), when it is another process.
    pub reader_server: Option<Usage>,
    pub generator: Usage,
    #[serde(flatten)]
    pub costs: Costs,
    /// Clients holding a full yrs document (writers, agents and the per-room sample).
    pub full_docs: usize,
    pub converged: bool,
    pub problems: Vec<String>,
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |k: &str, v: String| {
            let _ = writeln!(out, "  {k:<28} {v}");
        };
        row(
            "server",
            self.label.clone().unwrap_or_else(|| self.url.clone()),
        );
        if let Some(reader_url) = &self.reader_url {
            row("readers connected to", reader_url.clone());
        }
        row(
            "framing / mode",
            format!("{:?} / {}", self.framing, self.mode),
        );
        row(
            "load",
            format!(
                "{} rooms x {} clients, {} writing at {} Hz each ({} letters, runs of {})",
                self.rooms,
                self.clients_per_room,
                self.writers_per_room,
                self.rate_hz,
                self.chunk,
                self.run_length
            ),
        );
        row("window", format!("{:.1} s", self.window_s));
        row(
            "edits sent (measured)",
            format!("{} ({})", self.sent_edits, self.sent_measured),
        );
        row("offered deliveries/s", format!("{:.0}", self.offered_per_s));
        row("delivered edits/s", format!("{:.0}", self.delivered_per_s));
        row(
            "delivered / expected",
            format!(
                "{} / {} ({:.2}%)",
                self.delivered_measured,
                self.expected_deliveries,
                self.delivery_ratio * 100.0
            ),
        );
        let l = &self.latency_ms;
        row(
            "latency ms p50/p95/p99/max",
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} ({} samples)",
                l.p50, l.p95, l.p99, l.max, l.samples
            ),
        );
        if let Some(m) = &self.mix {
            row(
                "mix",
                format!(
                    "bursts of {} s, pauses of {} s, a chat message per {} s of typing",
                    m.burst_secs, m.pause_secs, m.chat_every_secs
                ),
            );
            row(
                "chat sent / acked / seen",
                format!("{} / {} / {}", m.chat_sent, m.chat_acked, m.chat_delivered),
            );
            row(
                "since sent / answered",
                format!("{} / {}", m.since_sent, m.since_answered),
            );
            for (name, l) in [("send→ack", &m.ack_ms), ("since→history", &m.history_ms)] {
                row(
                    &format!("{name} ms p50/p99/max"),
                    format!("{:.2} / {:.2} / {:.2}", l.p50, l.p99, l.max),
                );
            }
        }
        for (name, usage) in [
            ("server", &self.server),
            ("reader server", &self.reader_server),
        ] {
            if let Some(s) = usage {
                row(
                    &format!("{name} CPU mean"),
                    format!("{:.0}% of one core", s.cpu_mean_pct),
                );
                row(
                    &format!("{name} RSS peak"),
                    format!("{:.1} MiB", s.rss_peak_kib as f64 / 1024.0),
                );
            }
        }
        row(
            "generator CPU mean",
            format!("{:.0}% of one core", self.generator.cpu_mean_pct),
        );
        self.costs.rows(&mut row);
        row(
            "errors / reconnects",
            format!("{} / {}", self.errors, self.reconnects),
        );
        for sample in &self.error_samples {
            row("  error", sample.clone());
        }
        row("full documents checked", self.full_docs.to_string());
        row(
            "result",
            if self.converged {
                "CONVERGED".into()
            } else {
                "DIVERGED".into()
            },
        );
        for p in &self.problems {
            row("  problem", p.clone());
        }
        out
    }
}

/// Adds up what every client measured.
pub fn summarise(
    args: &RunArgs,
    trace: Option<&Trace>,
    peers: &[PeerReport],
    schedule: &Schedule,
    [server, reader_server]: [Option<procstat::Usage>; 2],
    generator: procstat::Usage,
) -> Report {
    let mut latencies: Vec<u32> = Vec::new();
    let (mut sent, mut sent_measured, mut in_window, mut measured) = (0, 0, 0, 0);
    let (mut frames, mut bytes) = (0, 0);
    for p in peers {
        frames += p.deliveries.frames;
        bytes += p.deliveries.bytes;
        latencies.extend_from_slice(&p.deliveries.latencies_us);
        sent += p.sent;
        sent_measured += p.sent_measured;
        in_window += p.deliveries.in_window;
        measured += p.deliveries.measured;
    }
    let others = args.clients.saturating_sub(1) as u64;
    let expected = sent_measured * others;
    // A replay is measured from its start to its last delivery: the whole trace is the load.
    let (window_s, delivered) = match trace {
        Some(_) => {
            let last = peers.iter().filter_map(|p| p.deliveries.last).max();
            let span = last.map(|l| l.saturating_duration_since(schedule.measure_from));
            (secs(span.unwrap_or_default()), measured)
        }
        None => (secs(Duration::from_secs_f64(args.duration)), in_window),
    };
    let errors: Vec<&String> = peers.iter().flat_map(|p| &p.errors).collect();
    let (converged, problems) = convergence(peers, trace.map(|t| t.end_content.as_str()));
    Report {
        label: args.target.label.clone(),
        url: args.target.url.clone(),
        reader_url: args.reader_url.clone(),
        framing: args.target.framing,
        mode: trace.map_or_else(|| "typing".into(), |t| format!("trace:{}", t.name)),
        rooms: args.rooms,
        clients_per_room: args.clients,
        writers_per_room: args.writers,
        rate_hz: args.rate,
        chunk: args.chunk,
        run_length: args.run_length,
        warmup_s: args.warmup,
        window_s,
        sent_edits: sent,
        sent_measured,
        expected_deliveries: expected,
        delivered_measured: measured,
        delivery_ratio: if expected == 0 {
            0.0
        } else {
            measured as f64 / expected as f64
        },
        delivered_per_s: delivered as f64 / window_s,
        counting: if trace.is_some() { "clock" } else { "marker" },
        offered_per_s: expected as f64 / window_s,
        requested_per_s: (args.rooms * args.writers) as f64 * args.rate * others as f64,
        latency_ms: Percentiles::of(&mut latencies),
        mix: args.mix.mix.then(|| {
            MixReport::new(
                &args.mix,
                peers.iter().filter_map(|p| p.mix.as_ref()),
                peers.iter().map(|p| p.chat_delivered).sum(),
            )
        }),
        errors: errors.len(),
        reconnects: peers.iter().map(|p| p.reconnects).sum(),
        error_samples: errors.iter().take(5).map(|e| e.to_string()).collect(),
        costs: Costs::new(
            window_s,
            delivered,
            frames,
            bytes,
            [server.as_ref(), reader_server.as_ref()],
            &generator,
        ),
        server,
        reader_server,
        generator,
        full_docs: peers.iter().filter(|p| p.doc.is_some()).count(),
        converged,
        problems,
    }
}

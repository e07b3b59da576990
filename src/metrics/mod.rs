//! Prometheus metrics. Code records counters and histograms through the `metrics` facade where
//! things happen; `GET /metrics` renders them in the Prometheus text format, on the main listener
//! or, with `--metrics-bind`, on a listener of its own (for an address only the monitoring
//! system reaches). Labels take values from small fixed sets (close codes, failure kinds, message
//! types, route templates), never rooms or users. Every metric is listed in
//! `docs/operations.md`.

mod gauges;
mod http;
mod socket;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Instant;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use gauges::{Gauges, Held};
pub use http::track_request;
pub use socket::{bytes_received, bytes_sent, received, refused, Refusal};

/// Log entries a room could not replay and moved to `doc_quarantine`.
pub const QUARANTINED: &str = "chatspace_doc_updates_quarantined_total";
/// Sockets the server closed, by close code.
pub const SOCKET_CLOSES: &str = "chatspace_socket_closes_total";
/// Rooms that stopped because their document was lost or could not be reloaded, by kind.
pub const ROOM_FAILURES: &str = "chatspace_room_failures_total";
/// Time to apply one batch of updates (or answer a step 1) on the blocking pool.
pub const DOC_WORK_SECONDS: &str = "chatspace_doc_work_seconds";
/// Messages read from room sockets, by type.
pub const MESSAGES_RECEIVED: &str = "chatspace_socket_messages_received_total";
/// Messages the server did not accept, by reason.
pub const MESSAGES_REFUSED: &str = "chatspace_socket_messages_refused_total";
/// Payload bytes read from room sockets.
pub const BYTES_RECEIVED: &str = "chatspace_socket_received_bytes_total";
/// Payload bytes written to room sockets.
pub const BYTES_SENT: &str = "chatspace_socket_sent_bytes_total";
/// Time of one append of updates to a room's log (one transaction).
pub const LOG_APPEND_SECONDS: &str = "chatspace_update_log_append_seconds";
/// Time to encode a room's snapshot on the blocking pool.
pub const SNAPSHOT_ENCODE_SECONDS: &str = "chatspace_snapshot_encode_seconds";
/// Time to check a room's snapshot (load it back) and compress it, in the room's writer.
pub const SNAPSHOT_CHECK_SECONDS: &str = "chatspace_snapshot_check_seconds";
/// Time to store a snapshot in place of the log entries it covers.
pub const SNAPSHOT_WRITE_SECONDS: &str = "chatspace_snapshot_write_seconds";
/// Time to load a room's document: read it, rebuild it, quarantine what does not replay.
pub const DOC_LOAD_SECONDS: &str = "chatspace_doc_load_seconds";
/// Time from a request's arrival to its response head, by method, route template and status
/// class.
pub const HTTP_REQUEST_SECONDS: &str = "chatspace_http_request_duration_seconds";
/// Batches of relays a busy room held for a tick and sent merged, by kind (update, awareness).
pub const FANOUT_BATCHES: &str = "chatspace_fanout_batches_total";
/// Relays (applied updates, awareness messages) per batch, by kind.
pub const FANOUT_BATCH_RELAYS: &str = "chatspace_fanout_batch_relays";

/// Buckets for [`DOC_WORK_SECONDS`]: a keystroke takes microseconds, a large sync step 2
/// milliseconds, and the deadline is seconds.
const DOC_WORK_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

/// Buckets for [`FANOUT_BATCH_RELAYS`]: a count, from two (one relay goes out alone) up to a
/// room's cap of held relays.
const BATCH_BUCKETS: &[f64] = &[2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

/// Buckets for every other duration: a SQLite append or a small page takes a fraction of a
/// millisecond, a PostgreSQL round trip a millisecond or two, a login's password hash tens of
/// milliseconds, and a write stuck behind a locked database up to the busy timeout (seconds).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The process's one recorder, installed on first use. Several servers in one process (the
/// tests) share it, as they share the process's other globals.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(DOC_WORK_SECONDS.to_owned()),
                    DOC_WORK_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(FANOUT_BATCH_RELAYS.to_owned()),
                    BATCH_BUCKETS,
                )
            });
        // Only fails for an empty bucket list.
        let builder = builder.unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if a recorder is already installed (an embedding program's own): then
        // the metrics go there and this route shows none.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows nothing");
        }
        handle
    })
}

/// Installs the recorder, so that metrics recorded before the first scrape are kept, and
/// describes the metrics (the label-less counters, and the socket counters with every label
/// value, are shown from the start, at zero). The gauges are described where they are rendered
/// (see [`Gauges`]).
pub fn install() {
    handle();
    metrics::describe_counter!(
        QUARANTINED,
        "Update log entries a room could not replay, moved to doc_quarantine"
    );
    metrics::describe_counter!(SOCKET_CLOSES, "Sockets the server closed, by close code");
    metrics::describe_counter!(
        ROOM_FAILURES,
        "Rooms that stopped and reload on the next join, by kind"
    );
    metrics::describe_counter!(
        MESSAGES_RECEIVED,
        "Messages read from room sockets, by the type the decoder tells apart"
    );
    metrics::describe_counter!(
        MESSAGES_REFUSED,
        "Messages from room sockets the server did not accept, by reason"
    );
    metrics::describe_counter!(
        BYTES_RECEIVED,
        Unit::Bytes,
        "Payload bytes of the binary, ping and pong frames read from room sockets"
    );
    metrics::describe_counter!(
        BYTES_SENT,
        Unit::Bytes,
        "Payload bytes of the binary frames written to room sockets"
    );
    let histograms = [
        (
            DOC_WORK_SECONDS,
            "Time to apply a batch of updates or answer a step 1 on the blocking pool",
        ),
        (
            LOG_APPEND_SECONDS,
            "Time of one append of updates to a room's log (one transaction, each attempt)",
        ),
        (
            SNAPSHOT_ENCODE_SECONDS,
            "Time to encode a room's snapshot on the blocking pool",
        ),
        (
            SNAPSHOT_CHECK_SECONDS,
            "Time to check a room's snapshot (load it back) and compress it, off the room's thread",
        ),
        (
            SNAPSHOT_WRITE_SECONDS,
            "Time to store a snapshot in place of the log entries it covers (each attempt)",
        ),
        (
            DOC_LOAD_SECONDS,
            "Time to load a room's document from the database",
        ),
        (
            HTTP_REQUEST_SECONDS,
            "Time from an HTTP request's arrival to its response head, by method, route and status class",
        ),
    ];
    for (name, description) in histograms {
        metrics::describe_histogram!(name, Unit::Seconds, description);
    }
    metrics::describe_counter!(
        FANOUT_BATCHES,
        "Batches of relays a busy room held for a tick and sent merged, by kind"
    );
    metrics::describe_histogram!(
        FANOUT_BATCH_RELAYS,
        Unit::Count,
        "Relays (applied updates, awareness messages) per batch, by kind"
    );
    metrics::counter!(QUARANTINED).increment(0);
    socket::register();
}

/// Runs `work` and records how long it took in the histogram `name`.
pub async fn timed<F: Future>(name: &'static str, work: F) -> F::Output {
    let started = Instant::now();
    let output = work.await;
    metrics::histogram!(name).record(started.elapsed());
    output
}

/// [`timed`] for work that does not wait: on the blocking pool.
pub fn timed_blocking<T>(name: &'static str, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let output = work();
    metrics::histogram!(name).record(started.elapsed());
    output
}

/// `GET /metrics`: the process's metrics, then this server's gauges.
async fn render(gauges: Gauges) -> impl IntoResponse {
    let handle = handle();
    handle.run_upkeep();
    let mut text = handle.render();
    gauges.render(&mut text);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The `/metrics` route, showing `gauges` (the server's own, see [`Gauges`]).
pub fn router<S: Clone + Send + Sync + 'static>(gauges: Gauges) -> Router<S> {
    Router::new().route("/metrics", get(move || render(gauges.clone())))
}

//! Prometheus metrics. Code records counters and histograms through the `metrics` facade where
//! things happen; `GET /metrics` renders them in the Prometheus text format, on the main listener
//! or, with `--metrics-bind`, on a listener of its own (for an address only the monitoring
//! system reaches). Labels take values from small fixed sets (close codes, failure kinds), never
//! rooms or users.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Log entries a room could not replay and moved to `doc_quarantine`.
pub const QUARANTINED: &str = "chatspace_doc_updates_quarantined_total";
/// Sockets the server closed, by close code.
pub const SOCKET_CLOSES: &str = "chatspace_socket_closes_total";
/// Rooms that stopped because their document was lost or could not be reloaded, by kind.
pub const ROOM_FAILURES: &str = "chatspace_room_failures_total";
/// Time to apply one batch of updates (or answer a step 1) on the blocking pool.
pub const DOC_WORK_SECONDS: &str = "chatspace_doc_work_seconds";

/// Buckets for [`DOC_WORK_SECONDS`]: a keystroke takes microseconds, a large sync step 2
/// milliseconds, and the deadline is seconds.
const DOC_WORK_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

/// The process's one recorder, installed on first use. Several servers in one process (the
/// tests) share it, as they share the process's other globals.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new().set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(DOC_WORK_SECONDS.to_owned()),
            DOC_WORK_BUCKETS,
        );
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
/// describes the metrics (the label-less ones are shown from the start, at zero).
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
    metrics::describe_histogram!(
        DOC_WORK_SECONDS,
        metrics::Unit::Seconds,
        "Time to apply a batch of updates or answer a step 1 on the blocking pool"
    );
    metrics::counter!(QUARANTINED).increment(0);
}

/// `GET /metrics`.
async fn render() -> impl IntoResponse {
    let handle = handle();
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/metrics", get(render))
}

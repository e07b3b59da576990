//! Logging: `tracing` to stderr, filtered by `RUST_LOG`, as text or JSON lines, each carrying
//! the node's id (several nodes' logs usually end up in one place).

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is not set: our own info lines and one line per request.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn";

/// Installs the global subscriber. Call once, from `main`.
pub fn init(format: LogFormat, node_id: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let format = tracing_subscriber::fmt::format();
            builder.event_format(WithNode::new(node_id, format)).init();
        }
        LogFormat::Json => {
            let format = tracing_subscriber::fmt::format().json();
            builder
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(WithNode::new(node_id, format).json())
                .init();
        }
    }
}

/// An event format that puts the node's id in front of what `inner` writes: `node=ID ` for
/// text, a `"node"` member first in each JSON object.
struct WithNode<F> {
    node: String,
    json: bool,
    inner: F,
}

impl<F> WithNode<F> {
    fn new(node: &str, inner: F) -> Self {
        Self {
            node: node.to_owned(),
            json: false,
            inner,
        }
    }

    fn json(self) -> Self {
        Self {
            node: serde_json::Value::from(self.node).to_string(),
            json: true,
            inner: self.inner,
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithNode<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if !self.json {
            write!(writer, "node={} ", self.node)?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{\"node\":{},{rest}", self.node),
            None => writer.write_str(&line),
        }
    }
}

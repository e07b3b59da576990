//! What one server has open now: its room sockets and its live rooms. Unlike the counters, these
//! are the server's own rather than the process's: several servers in one process (the tests)
//! each show theirs, and a count that only goes up and down with [`Held`] cannot drift. They are
//! read when `/metrics` is scraped.

use std::fmt::Write;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Room sockets admitted and not yet closed.
const CONNECTIONS: (&str, &str) = (
    "chatspace_connections_open",
    "Room sockets admitted and not yet closed",
);
/// Room tasks running: loading, serving, or saving before they unload.
const ROOMS: (&str, &str) = (
    "chatspace_rooms_live",
    "Rooms loaded now (loading, serving, or saving before they unload)",
);

/// A server's gauges; cheap to clone.
#[derive(Clone, Default)]
pub struct Gauges {
    connections: Arc<AtomicU64>,
    rooms: Arc<AtomicU64>,
}

impl Gauges {
    /// Counts one more open connection until the returned guard is dropped.
    pub fn connection(&self) -> Held {
        Held::new(&self.connections)
    }

    /// Counts one more live room until the returned guard is dropped.
    pub fn room(&self) -> Held {
        Held::new(&self.rooms)
    }

    /// Appends the gauges to a scrape, in the Prometheus text format.
    pub(super) fn render(&self, text: &mut String) {
        for ((name, help), value) in [(CONNECTIONS, &self.connections), (ROOMS, &self.rooms)] {
            let value = value.load(Ordering::Relaxed);
            // Writing to a String cannot fail.
            let _ = write!(
                text,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n\n"
            );
        }
    }
}

/// One thing counted by a gauge, from [`Gauges::connection`] or [`Gauges::room`] until dropped:
/// on every path out, an error's or a panic's included.
pub struct Held(Arc<AtomicU64>);

impl Held {
    fn new(gauge: &Arc<AtomicU64>) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(gauge))
    }

    /// Runs `work`, counted until it completes or is dropped.
    pub async fn during<F: Future>(self, work: F) -> F::Output {
        let _held = self;
        work.await
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(gauges: &Gauges, name: &str) -> String {
        let mut text = String::new();
        gauges.render(&mut text);
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_default();
        line.trim_start_matches(name).trim().to_owned()
    }

    #[test]
    fn a_gauge_counts_what_is_held_and_nothing_after_it_is_dropped() {
        let gauges = Gauges::default();
        let first = gauges.connection();
        let second = gauges.connection();
        let room = gauges.room();
        assert_eq!(value(&gauges, "chatspace_connections_open"), "2");
        assert_eq!(value(&gauges, "chatspace_rooms_live"), "1");
        drop((first, second, room));
        assert_eq!(value(&gauges, "chatspace_connections_open"), "0");
        assert_eq!(value(&gauges, "chatspace_rooms_live"), "0");
    }

    #[test]
    fn work_that_is_dropped_before_it_ends_is_no_longer_counted() {
        let gauges = Gauges::default();
        let work = gauges.room().during(std::future::pending::<()>());
        assert_eq!(value(&gauges, "chatspace_rooms_live"), "1");
        drop(work);
        assert_eq!(value(&gauges, "chatspace_rooms_live"), "0");
    }
}

//! What each delivered edit cost the server and the wire, and whether the generator itself was
//! the limit: a step where the generator used, or was kept waiting for, more than
//! [`GENERATOR_BOUND_PCT`] of its cores says nothing about the server's ceiling. The waiting
//! counts: on a shared machine other processes can take the generator's core, and a generator
//! that waited most of the window for it was as much the limit as one that used it all.

use serde::Serialize;

use crate::procstat::Usage;

/// Generator CPU used plus CPU waited for, in percent of the cores it may run on, above which a
/// step is generator-bound.
pub const GENERATOR_BOUND_PCT: f64 = 80.0;

/// Per delivered edit, inside the measurement window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Costs {
    /// Frames every client received per edit delivered (Hocuspocus's acknowledgements and
    /// echoes, awareness and chat frames included: they are work too).
    pub frames_per_edit: Option<f64>,
    /// WebSocket payload bytes received per edit delivered.
    pub bytes_per_edit: Option<f64>,
    /// Server CPU time (user + system, both nodes when readers use another) per edit delivered,
    /// in microseconds.
    pub server_cpu_us_per_edit: Option<f64>,
    /// Cores the generator may run on (its CPU affinity).
    pub generator_cores: usize,
    /// Generator CPU in percent of those cores.
    pub generator_pct_of_cores: f64,
    /// Time the generator's threads waited for a CPU while runnable, in percent of those cores.
    pub generator_wait_pct_of_cores: f64,
    /// CPU used plus waited for was above [`GENERATOR_BOUND_PCT`]: the step measured the
    /// generator too.
    pub generator_bound: bool,
}

impl Costs {
    /// From the window's length, deliveries, frames and bytes received, and the processes' CPU.
    pub fn new(
        window_s: f64,
        delivered: u64,
        frames: u64,
        bytes: u64,
        servers: [Option<&Usage>; 2],
        generator: &Usage,
    ) -> Self {
        let per = |x: f64| (delivered > 0).then(|| x / delivered as f64);
        let window_cpu_pct: Option<f64> = servers
            .iter()
            .flatten()
            .map(|u| u.cpu_mean_pct)
            .reduce(|a, b| a + b);
        let generator_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let generator_pct_of_cores = generator.cpu_mean_pct / generator_cores as f64;
        let generator_wait_pct_of_cores = generator.cpu_wait_pct / generator_cores as f64;
        Costs {
            frames_per_edit: per(frames as f64),
            bytes_per_edit: per(bytes as f64),
            // A percent of a core is 10^4 us of CPU per second of the window.
            server_cpu_us_per_edit: window_cpu_pct.and_then(|pct| per(pct * 1e4 * window_s)),
            generator_cores,
            generator_pct_of_cores,
            generator_wait_pct_of_cores,
            generator_bound: generator_pct_of_cores + generator_wait_pct_of_cores
                > GENERATOR_BOUND_PCT,
        }
    }

    /// The rows of the human-readable table.
    pub fn rows(&self, mut row: impl FnMut(&str, String)) {
        let fmt = |x: Option<f64>, digits: usize| {
            x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.digits$}"))
        };
        row(
            "per delivered edit",
            format!(
                "{} frames, {} bytes received; server CPU {} us",
                fmt(self.frames_per_edit, 3),
                fmt(self.bytes_per_edit, 1),
                fmt(self.server_cpu_us_per_edit, 2)
            ),
        );
        row(
            "generator CPU of its cores",
            format!(
                "{:.0}% of {} (waited for: {:.0}%){}",
                self.generator_pct_of_cores,
                self.generator_cores,
                self.generator_wait_pct_of_cores,
                if self.generator_bound {
                    " (GENERATOR-BOUND: not a server figure)"
                } else {
                    ""
                }
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_divide_the_window_by_the_edits_delivered() {
        let server = Usage {
            cpu_mean_pct: 50.0,
            ..Usage::default()
        };
        // Half a core for 2 s is 1 s of CPU, over 2,000 edits.
        let c = Costs::new(
            2.0,
            2_000,
            500,
            80_000,
            [Some(&server), None],
            &Usage::default(),
        );
        assert_eq!(c.frames_per_edit, Some(0.25));
        assert_eq!(c.bytes_per_edit, Some(40.0));
        assert_eq!(c.server_cpu_us_per_edit, Some(500.0));
        assert!(!c.generator_bound);
        let starved = Usage {
            cpu_mean_pct: 30.0 * c.generator_cores as f64,
            cpu_wait_pct: 60.0 * c.generator_cores as f64,
            ..Usage::default()
        };
        let c = Costs::new(2.0, 2_000, 500, 80_000, [Some(&server), None], &starved);
        assert!(c.generator_bound, "30% used and 60% waited for");
        let none = Costs::new(1.0, 0, 0, 0, [None, None], &Usage::default());
        assert_eq!(none.server_cpu_us_per_edit, None);
    }
}

//! Server (and own) CPU time and resident memory from `/proc`, sampled once a second, plus the
//! open-files limit the generator needs for thousands of sockets.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// User + system CPU time, in seconds.
    pub cpu_secs: f64,
    /// Resident set size, in KiB.
    pub rss_kib: u64,
    /// Time its threads spent runnable but waiting for a CPU, in seconds (schedstat).
    pub wait_secs: f64,
}

/// Reads `pid` (or this process with `None`); `None` when it is gone or unreadable.
pub fn read(pid: Option<u32>) -> Option<Reading> {
    let process = match pid {
        Some(pid) => procfs::process::Process::new(i32::try_from(pid).ok()?),
        None => procfs::process::Process::myself(),
    }
    .ok()?;
    let stat = process.stat().ok()?;
    let rss_kib = process.status().ok()?.vmrss?;
    Some(Reading {
        cpu_secs: (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64,
        rss_kib,
        wait_secs: waited(process.pid()),
    })
}

/// Run-queue wait of every thread of `pid`, in seconds (`/proc/PID/task/*/schedstat`, second
/// field, nanoseconds); threads that ended take theirs with them.
fn waited(pid: i32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

/// CPU and memory of one process over a window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Mean CPU over the window, in percent of one core.
    pub cpu_mean_pct: f64,
    /// Time its threads waited for a CPU while runnable, in percent of the window (summed over
    /// threads): high when other processes took the cores it was pinned to.
    pub cpu_wait_pct: f64,
    /// Highest resident set size sampled, in KiB.
    pub rss_peak_kib: u64,
    /// Resident set size at the start of the window, in KiB.
    pub rss_start_kib: u64,
    pub samples: usize,
}

/// Samples a process every second until stopped.
pub struct Sampler {
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<Usage>,
}

impl Sampler {
    pub fn start(pid: Option<u32>) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let done = tokio::spawn(async move {
            let Some(first) = read(pid) else {
                return Usage::default();
            };
            let began = Instant::now();
            let mut last = first;
            let mut usage = Usage {
                rss_peak_kib: first.rss_kib,
                rss_start_kib: first.rss_kib,
                samples: 1,
                ..Usage::default()
            };
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => break,
                }
                let Some(now) = read(pid) else { break };
                usage.rss_peak_kib = usage.rss_peak_kib.max(now.rss_kib);
                usage.samples += 1;
                last = now;
            }
            if let Some(now) = read(pid) {
                usage.rss_peak_kib = usage.rss_peak_kib.max(now.rss_kib);
                last = now;
            }
            let wall = began.elapsed().as_secs_f64().max(1e-6);
            usage.cpu_mean_pct = (last.cpu_secs - first.cpu_secs) / wall * 100.0;
            usage.cpu_wait_pct = (last.wait_secs - first.wait_secs).max(0.0) / wall * 100.0;
            usage
        });
        Sampler { stop, done }
    }

    pub async fn finish(self) -> Usage {
        let _ = self.stop.send(());
        self.done.await.unwrap_or_default()
    }
}

/// Raises the soft limit on open files towards `needed` (up to the hard limit). Returns the
/// soft limit in force afterwards.
pub fn raise_open_files(needed: u64) -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    // `None` means unlimited.
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= needed {
        return current;
    }
    let wanted = needed.min(limit.maximum.unwrap_or(u64::MAX));
    let raised = Rlimit {
        current: Some(wanted),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => wanted,
        Err(_) => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read() {
        let reading = read(None).unwrap();
        assert!(reading.rss_kib > 0);
        assert!(read(Some(u32::MAX)).is_none());
    }
}

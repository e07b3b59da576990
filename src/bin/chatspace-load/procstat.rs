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
}

/// Clock ticks per second of `/proc/*/stat` times (USER_HZ).
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf only reads a configuration value; it has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// Reads `pid` (or this process with `None`); `None` when it is gone or unreadable.
pub fn read(pid: Option<u32>) -> Option<Reading> {
    let dir = pid.map_or_else(|| "/proc/self".to_owned(), |p| format!("/proc/{p}"));
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(Reading {
        cpu_secs: (utime + stime) as f64 / ticks_per_sec(),
        rss_kib,
    })
}

/// CPU and memory of one process over a window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Mean CPU over the window, in percent of one core.
    pub cpu_mean_pct: f64,
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
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; setrlimit only reads it.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < needed {
            let wanted = libc::rlimit {
                rlim_cur: needed.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit = wanted;
            }
        }
    }
    limit.rlim_cur
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

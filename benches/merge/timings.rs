//! What the merge bench measured, kept as it runs so that it can print its own tables at the
//! end (criterion reports each case alone and keeps no ratios between them).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Per-iteration wall-clock times in nanoseconds, by case id (`group/case`).
static TIMES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

/// Records one timed iteration of a case.
pub fn record(id: &str, took: Duration) {
    let mut times = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    times
        .entry(id.to_owned())
        .or_default()
        .push(took.as_nanos() as f64);
}

/// Median time of one iteration of a case, in nanoseconds, or `None` when it did not run (a
/// criterion filter left it out). The warm-up iteration is included: with ten or more timed
/// iterations it cannot move the median by more than one rank.
pub fn median_ns(id: &str) -> Option<f64> {
    let times = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    let mut samples = times.get(id)?.clone();
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    Some(if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    })
}

/// Number of iterations recorded for a case (warm-up included).
pub fn runs(id: &str) -> usize {
    let times = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    times.get(id).map_or(0, Vec::len)
}

/// A Markdown table with aligned columns, printed to stdout.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = (0..columns)
                .map(|i| {
                    let cell = cells.get(i).map_or("", String::as_str);
                    // First column left-aligned (names), the others right-aligned (figures).
                    if i == 0 {
                        format!("{cell:<width$}", width = widths[i])
                    } else {
                        format!("{cell:>width$}", width = widths[i])
                    }
                })
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(&self.header);
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    "-".repeat(*w)
                } else {
                    format!("{}:", "-".repeat(w.saturating_sub(1)))
                }
            })
            .collect();
        println!("| {} |", rule.join(" | "));
        for row in &self.rows {
            line(row);
        }
        println!();
    }
}

/// Formats a duration in nanoseconds with a unit that keeps three significant figures.
pub fn human_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Formats an integer with thousands separators (`259,778`).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

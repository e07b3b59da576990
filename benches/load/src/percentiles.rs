//! Latency percentiles, and seconds as a divisor for rates.

use std::time::Duration;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `us` (sorted in place).
    pub fn of(us: &mut [u32]) -> Self {
        if us.is_empty() {
            return Percentiles::default();
        }
        us.sort_unstable();
        let rank = |p: f64| {
            let i = ((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1;
            f64::from(us[i]) / 1000.0
        };
        let sum: u64 = us.iter().map(|&x| u64::from(x)).sum();
        Percentiles {
            samples: us.len(),
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: f64::from(us[us.len() - 1]) / 1000.0,
            mean: sum as f64 / us.len() as f64 / 1000.0,
        }
    }
}

/// `d` as fractional seconds, for rates.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut us: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        let p = Percentiles::of(&mut us);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&mut []).samples, 0);
    }
}

//! A token bucket per connection, for both message count and bytes: a burst passes, a sustained
//! flood closes the socket with 4429.

use tokio::time::Instant;

/// Limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub messages_per_sec: f64,
    pub message_burst: f64,
    pub bytes_per_sec: f64,
    pub byte_burst: f64,
}

impl RateLimits {
    /// `messages_per_sec` sustained with bursts of ten times that; bytes 2 MiB/s, bursts 16 MiB.
    pub fn from_messages_per_sec(messages_per_sec: u32) -> Self {
        let rate = f64::from(messages_per_sec.max(1));
        Self {
            messages_per_sec: rate,
            message_burst: rate * 10.0,
            bytes_per_sec: 2.0 * 1024.0 * 1024.0,
            byte_burst: 16.0 * 1024.0 * 1024.0,
        }
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    messages: f64,
    bytes: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            messages: limits.message_burst,
            bytes: limits.byte_burst,
            last: Instant::now(),
        }
    }

    /// Takes one message of `len` bytes from the buckets; false when either is empty.
    pub fn allow(&mut self, len: usize) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        let l = self.limits;
        self.messages = (self.messages + elapsed * l.messages_per_sec).min(l.message_burst);
        self.bytes = (self.bytes + elapsed * l.bytes_per_sec).min(l.byte_burst);
        self.messages -= 1.0;
        self.bytes -= len as f64;
        self.messages >= 0.0 && self.bytes >= 0.0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_a_flood_does_not_and_time_refills_the_bucket() {
        let mut limiter = RateLimiter::new(RateLimits::from_messages_per_sec(10));
        assert!(
            (0..100).all(|_| limiter.allow(10)),
            "a burst of ten times the rate passes"
        );
        assert!(!limiter.allow(10), "the 101st message at once does not");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            (0..19).all(|_| limiter.allow(10)),
            "two seconds refill twenty messages"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_are_limited_too() {
        let mut limiter = RateLimiter::new(RateLimits::from_messages_per_sec(1000));
        assert!(limiter.allow(16 * 1024 * 1024));
        assert!(!limiter.allow(1024));
    }
}

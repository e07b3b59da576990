//! Login throttling: after too many failed logins for one account or from one client address,
//! further attempts are refused until the lockout has passed. Counts live in memory: a restart
//! forgets them, which costs an attacker a restart they cannot cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// What is being counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// When the first failure still counted happened; the count starts over a window after it.
    since: Instant,
    /// Set when the count reaches the limit: attempts are refused until then.
    locked_until: Option<Instant>,
}

impl Failures {
    fn is_stale(&self, now: Instant, window: Duration) -> bool {
        self.locked_until
            .map_or(now.duration_since(self.since) >= window, |until| {
                now >= until
            })
    }
}

/// Limits for [`LoginThrottle`].
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub per_account: u32,
    pub per_address: u32,
    /// How long failures are remembered, and how long a lockout lasts.
    pub window: Duration,
}

/// Cheap-to-clone handle on the failure counts.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    /// A std mutex: it guards a map update and is never held across an `.await`.
    failures: Arc<Mutex<HashMap<Key, Failures>>>,
}

/// Entries kept before expired ones are swept, so a flood of random usernames stays bounded.
const SWEEP_ABOVE: usize = 10_000;

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            limits,
            failures: Arc::default(),
        }
    }

    /// `Some(wait)` when this account or address is locked out for `wait` more.
    pub fn check(&self, username: &str, address: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let locked = |key: Key| {
            map.get(&key)
                .and_then(|f| f.locked_until)
                .and_then(|until| until.checked_duration_since(now))
                .filter(|wait| !wait.is_zero())
        };
        let account = locked(Key::Account(username.to_lowercase()));
        let address = locked(Key::Address(address));
        account.max(address)
    }

    /// Counts a failed login.
    pub fn record_failure(&self, username: &str, address: IpAddr) {
        let now = Instant::now();
        let window = self.limits.window;
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, f| !f.is_stale(now, window));
        }
        let fresh = Failures {
            count: 0,
            since: now,
            locked_until: None,
        };
        for (key, limit) in [
            (
                Key::Account(username.to_lowercase()),
                self.limits.per_account,
            ),
            (Key::Address(address), self.limits.per_address),
        ] {
            let entry = map.entry(key).or_insert(fresh);
            if entry.is_stale(now, window) {
                *entry = fresh;
            }
            entry.count += 1;
            if entry.count >= limit {
                entry.locked_until = Some(now + window);
            }
        }
    }

    /// Forgets the account's failures after a successful login. The address keeps its count: a
    /// guesser who owns one account must not reset the address budget by logging into it.
    pub fn record_success(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Key::Account(username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleLimits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        })
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    #[tokio::test(start_paused = true)]
    async fn an_account_locks_after_its_limit_and_unlocks_when_the_window_passes() {
        let t = throttle();
        for _ in 0..2 {
            t.record_failure("Alice", HOME);
        }
        assert_eq!(t.check("alice", HOME), None);
        t.record_failure("alice", OTHER);
        let wait = t.check("ALICE", HOME).expect("locked after three failures");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(59));
        assert_eq!(
            t.check("bob", OTHER),
            None,
            "other accounts are not affected"
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(t.check("alice", HOME), None);
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_locks_after_failures_across_many_accounts() {
        let t = throttle();
        for name in ["a1", "a2", "a3", "a4", "a5"] {
            t.record_failure(name, OTHER);
        }
        assert!(t.check("someone-else", OTHER).is_some());
        assert_eq!(t.check("someone-else", HOME), None);
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_the_account_count_but_not_the_address_count() {
        let t = throttle();
        for _ in 0..2 {
            t.record_failure("carol", OTHER);
        }
        t.record_success("carol");
        t.record_failure("carol", OTHER);
        assert_eq!(t.check("carol", HOME), None);
        t.record_failure("dave", OTHER);
        t.record_failure("erin", OTHER);
        assert!(
            t.check("carol", OTHER).is_some(),
            "five failures from one address lock it"
        );
    }
}

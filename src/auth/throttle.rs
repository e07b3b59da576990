//! Login throttling: after too many failed logins for one account or from one client address,
//! further attempts are refused until the lockout has passed. An attempt is counted as a failure
//! before its password is checked, so of many simultaneous guesses no more than the limit are
//! ever checked; a right password then gives its attempt back.

use std::net::IpAddr;
use std::time::Duration;

use super::tally::Tally;

/// What is being counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
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
    tally: Tally<Key>,
}

/// A login attempt that was let through and already counts as a failure. Dropping it leaves it
/// counted; [`Attempt::succeeded`] and [`Attempt::not_checked`] say otherwise.
#[must_use = "an attempt counts as a failure unless it is settled otherwise"]
#[derive(Debug)]
pub struct Attempt {
    throttle: LoginThrottle,
    account: String,
    address: IpAddr,
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            limits,
            tally: Tally::new(limits.window),
        }
    }

    /// Lets an attempt through, counted as a failure, or returns how long this account or
    /// address is still locked.
    pub fn begin(&self, username: &str, address: IpAddr) -> Result<Attempt, Duration> {
        let account = username.to_lowercase();
        self.tally.take(&self.keys(&account, address))?;
        Ok(Attempt {
            throttle: self.clone(),
            account,
            address,
        })
    }

    fn keys(&self, account: &str, address: IpAddr) -> [(Key, u32); 2] {
        [
            (Key::Account(account.to_owned()), self.limits.per_account),
            (Key::Address(address), self.limits.per_address),
        ]
    }
}

impl Attempt {
    /// The password was right: the account's failures are forgotten and the address gets this
    /// attempt back. The address keeps its other failures: a guesser who owns one account must
    /// not reset the address budget by logging into it.
    pub fn succeeded(self) {
        let throttle = &self.throttle;
        throttle.tally.forget(&Key::Account(self.account));
        throttle
            .tally
            .give_back(&[(Key::Address(self.address), throttle.limits.per_address)]);
    }

    /// The password was never checked (the server was too busy): the attempt is given back.
    pub fn not_checked(self) {
        let keys = self.throttle.keys(&self.account, self.address);
        self.throttle.tally.give_back(&keys);
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
    async fn attempts_in_flight_count_so_no_more_than_the_limit_get_through() {
        let t = throttle();
        let in_flight: Vec<_> = ["Alice", "alice", "ALICE"]
            .into_iter()
            .map(|name| t.begin(name, HOME).expect("within the limit"))
            .collect();
        assert!(
            t.begin("alice", OTHER).is_err(),
            "a fourth guess is refused before any of the three has an outcome"
        );
        assert!(
            t.begin("bob", OTHER).is_ok(),
            "other accounts are not affected"
        );
        drop(in_flight);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(t.begin("alice", HOME).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_locks_after_failures_across_many_accounts() {
        let t = throttle();
        for name in ["a1", "a2", "a3", "a4", "a5"] {
            drop(t.begin(name, OTHER).unwrap());
        }
        assert!(t.begin("someone-else", OTHER).is_err());
        assert!(t.begin("someone-else", HOME).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_the_account_count_but_not_the_address_count() {
        let t = throttle();
        for _ in 0..2 {
            drop(t.begin("carol", OTHER).unwrap());
        }
        t.begin("carol", OTHER).unwrap().succeeded();
        drop(t.begin("carol", OTHER).unwrap());
        drop(t.begin("carol", OTHER).unwrap());
        drop(t.begin("dave", OTHER).expect("the address's fifth"));
        assert!(
            t.begin("erin", OTHER).is_err(),
            "the address has had five failures"
        );
        assert!(
            t.begin("carol", HOME).is_ok(),
            "carol had two since her login"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_was_never_checked_is_given_back() {
        let t = throttle();
        for _ in 0..2 {
            drop(t.begin("erin", HOME).unwrap());
        }
        t.begin("erin", HOME).unwrap().not_checked();
        assert!(t.begin("erin", HOME).is_ok(), "still the third");
        assert!(t.begin("erin", HOME).is_err());
    }
}

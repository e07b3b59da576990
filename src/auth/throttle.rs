//! Login throttling: after too many failed logins for one account or from one client address,
//! further attempts are refused until the lockout has passed. An attempt is counted as a failure
//! before its password is checked, so of many simultaneous guesses no more than the limit are
//! ever checked; a right password then gives its attempt back. The counts live in the database
//! (`throttle_counts`), so that the nodes sharing it count together: failures spread over
//! several nodes lock an account as they would on one.

use std::net::IpAddr;
use std::time::Duration;

use crate::accounts::rules::USERNAME_MAX;
use crate::clock::now_millis;
use crate::store::Store;

/// Why an attempt (or a sign-up) was not let through.
#[derive(Debug)]
pub enum Refused {
    /// Too many recent failures: how long the account or address is still locked.
    Locked(Duration),
    /// The counts could not be read or written. The attempt is refused rather than let through
    /// uncounted, which would give a guesser unthrottled tries while the database struggles.
    Unavailable(sqlx::Error),
}

impl From<sqlx::Error> for Refused {
    fn from(error: sqlx::Error) -> Self {
        Self::Unavailable(error)
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
    store: Store,
    limits: ThrottleLimits,
}

/// A login attempt that was let through and already counts as a failure. Dropping it leaves it
/// counted; [`Attempt::succeeded`] and [`Attempt::not_checked`] say otherwise.
#[must_use = "an attempt counts as a failure unless it is settled otherwise"]
#[derive(Debug)]
pub struct Attempt {
    throttle: LoginThrottle,
    account: String,
    address: String,
}

impl LoginThrottle {
    pub fn new(store: Store, limits: ThrottleLimits) -> Self {
        Self { store, limits }
    }

    /// Lets an attempt through, counted as a failure, or says why not.
    pub async fn begin(&self, username: &str, address: IpAddr) -> Result<Attempt, Refused> {
        let attempt = Attempt {
            throttle: self.clone(),
            account: account_subject(username),
            address: format!("address:{address}"),
        };
        self.store
            .take_counts(&attempt.subjects(), self.limits.window, now_millis())
            .await?
            .map_err(Refused::Locked)?;
        Ok(attempt)
    }
}

/// The account's name in the counts: lowercase, since names are unique whatever their case, and
/// no longer than one character past the longest username, so that a client cannot make the
/// database index a name of any length. Every longer name is no account's.
fn account_subject(username: &str) -> String {
    let name: String = username
        .to_lowercase()
        .chars()
        .take(USERNAME_MAX + 1)
        .collect();
    format!("account:{name}")
}

impl Attempt {
    fn subjects(&self) -> [(&str, u32); 2] {
        let limits = &self.throttle.limits;
        [
            (&self.account, limits.per_account),
            (&self.address, limits.per_address),
        ]
    }

    /// The password was right: the account's failures are forgotten and the address gets this
    /// attempt back. The address keeps its other failures: a guesser who owns one account must
    /// not reset the address budget by logging into it.
    pub async fn succeeded(self) {
        let store = &self.throttle.store;
        if let Err(error) = store.forget_count(&self.account).await {
            tracing::warn!(%error, "an account's login failures could not be forgotten");
        }
        let per_address = self.throttle.limits.per_address;
        give_back(store, &self.address, per_address).await;
    }

    /// The password was never checked (the server was too busy): the attempt is given back.
    pub async fn not_checked(self) {
        for (subject, limit) in self.subjects() {
            give_back(&self.throttle.store, subject, limit).await;
        }
    }
}

/// Gives one counted event back; when the database cannot be reached it stays counted, the
/// side that errs against a guesser.
pub(super) async fn give_back(store: &Store, subject: &str, limit: u32) {
    if let Err(error) = store.give_back_count(subject, limit).await {
        tracing::warn!(%error, "an attempt could not be given back and stays counted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn throttle() -> (tempfile::TempDir, LoginThrottle) {
        let (dir, store) = Store::temporary().await;
        let limits = ThrottleLimits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        };
        (dir, LoginThrottle::new(store, limits))
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    fn locked<T>(begun: Result<T, Refused>) -> bool {
        match begun {
            Ok(_) => false,
            Err(Refused::Locked(_)) => true,
            Err(Refused::Unavailable(error)) => panic!("the database failed: {error}"),
        }
    }

    #[tokio::test]
    async fn attempts_in_flight_count_so_no_more_than_the_limit_get_through() {
        let (_dir, t) = throttle().await;
        let mut in_flight = Vec::new();
        for name in ["Alice", "alice", "ALICE"] {
            in_flight.push(t.begin(name, HOME).await.expect("within the limit"));
        }
        assert!(
            locked(t.begin("alice", OTHER).await),
            "a fourth guess is refused before any of the three has an outcome"
        );
        assert!(
            !locked(t.begin("bob", OTHER).await),
            "other accounts are not affected"
        );
    }

    #[tokio::test]
    async fn an_address_locks_after_failures_across_many_accounts() {
        let (_dir, t) = throttle().await;
        for name in ["a1", "a2", "a3", "a4", "a5"] {
            drop(t.begin(name, OTHER).await.unwrap());
        }
        assert!(locked(t.begin("someone-else", OTHER).await));
        assert!(!locked(t.begin("someone-else", HOME).await));
    }

    #[tokio::test]
    async fn success_clears_the_account_count_but_not_the_address_count() {
        let (_dir, t) = throttle().await;
        for _ in 0..2 {
            drop(t.begin("carol", OTHER).await.unwrap());
        }
        t.begin("carol", OTHER).await.unwrap().succeeded().await;
        drop(t.begin("carol", OTHER).await.unwrap());
        drop(t.begin("carol", OTHER).await.unwrap());
        drop(t.begin("dave", OTHER).await.expect("the address's fifth"));
        assert!(
            locked(t.begin("erin", OTHER).await),
            "the address has had five failures"
        );
        assert!(
            !locked(t.begin("carol", HOME).await),
            "carol had two since her login"
        );
    }

    #[tokio::test]
    async fn an_attempt_that_was_never_checked_is_given_back() {
        let (_dir, t) = throttle().await;
        for _ in 0..2 {
            drop(t.begin("erin", HOME).await.unwrap());
        }
        t.begin("erin", HOME).await.unwrap().not_checked().await;
        assert!(!locked(t.begin("erin", HOME).await), "still the third");
        assert!(locked(t.begin("erin", HOME).await));
    }

    #[test]
    fn an_overlong_name_is_counted_under_a_bounded_subject() {
        let long = "X".repeat(10_000);
        assert_eq!(
            account_subject(&long).len(),
            "account:".len() + USERNAME_MAX + 1
        );
        assert_eq!(account_subject("Alice"), "account:alice");
    }
}

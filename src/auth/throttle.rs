//! Login throttling that gives no one a way to lock out someone else.
//!
//! - Per (account, client address) pair: after `per_account` failures the pair is refused
//!   until the lockout has passed. A guesser at one address locks only themselves out of that
//!   account; the owner, from anywhere else, is not refused.
//! - Per client address: after `per_address` failures (across every account) the address is
//!   refused, as a guesser trying many accounts is.
//! - Per account: failures from every address count, and once they pass `per_account` each
//!   further attempt waits before it is answered, a wait that doubles with each failure up to a
//!   cap. It slows a guesser spread over many addresses without ever refusing the owner.
//!
//! An attempt is counted as a failure before its password is checked, so of many simultaneous
//! guesses no more than the limits are ever checked; a right password then gives its attempt
//! back. The counts live in the database (`throttle_counts`), so that the nodes sharing it count
//! together: failures spread over several nodes count as they would on one.

use std::net::IpAddr;
use std::time::Duration;

use crate::accounts::rules::USERNAME_MAX;
use crate::clock::now_millis;
use crate::store::Store;

/// The first per-account wait; each failure after it doubles the wait, up to the cap.
const DELAY_STEP: Duration = Duration::from_millis(500);

/// Why an attempt (or a sign-up) was not let through.
#[derive(Debug)]
pub enum Refused {
    /// Too many recent failures: how long the pair or address is still locked.
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
    /// Failures for one account from one address before that pair is locked; also the
    /// failures for the account (from anywhere) after which attempts are slowed down.
    pub per_account: u32,
    pub per_address: u32,
    /// How long failures are remembered, and how long a lockout lasts.
    pub window: Duration,
    /// The longest a per-account wait grows to (zero: never wait).
    pub max_delay: Duration,
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
    pair: String,
    account: String,
    address: String,
    /// How long this attempt waited for its account's earlier failures.
    pub waited: Duration,
}

impl LoginThrottle {
    pub fn new(store: Store, limits: ThrottleLimits) -> Self {
        Self { store, limits }
    }

    /// Lets an attempt through, counted as a failure, or says why not. An attempt on an
    /// account with many recent failures waits here first (see the module's doc).
    pub async fn begin(&self, username: &str, address: IpAddr) -> Result<Attempt, Refused> {
        let name = account_name(username);
        let mut attempt = Attempt {
            throttle: self.clone(),
            pair: format!("pair:{name}|{address}"),
            account: format!("account:{name}"),
            address: format!("address:{address}"),
            waited: Duration::ZERO,
        };
        self.store
            .take_counts(&attempt.locking(), self.limits.window, now_millis())
            .await?
            .map_err(Refused::Locked)?;
        let failures = self
            .store
            .count_event(&attempt.account, self.limits.window, now_millis())
            .await?;
        attempt.waited = self.delay(failures.saturating_sub(1));
        if !attempt.waited.is_zero() {
            tokio::time::sleep(attempt.waited).await;
        }
        Ok(attempt)
    }

    /// The wait of an attempt on an account that had `failures` in the window before it.
    fn delay(&self, failures: i64) -> Duration {
        let free = i64::from(self.limits.per_account.max(1));
        let Ok(doublings) = u32::try_from(failures - free) else {
            return Duration::ZERO;
        };
        DELAY_STEP
            .saturating_mul(1u32 << doublings.min(20))
            .min(self.limits.max_delay)
    }

    /// Forgets every failure counted for the account (an operator's `user unlock`): its pairs
    /// are no longer locked and its attempts no longer wait. Returns how many counts went.
    pub async fn unlock(&self, username: &str) -> sqlx::Result<u64> {
        let name = account_name(username);
        let account = format!("account:{name}");
        self.store
            .forget_counts(&account, &format!("pair:{name}|"))
            .await
    }
}

/// The account's name in the counts: lowercase, since names are unique whatever their case, and
/// cut short, since a guesser may send any length.
fn account_name(username: &str) -> String {
    username
        .to_lowercase()
        .chars()
        .take(USERNAME_MAX + 1)
        .collect()
}

impl Attempt {
    /// The counts that lock: the pair and the address.
    fn locking(&self) -> [(&str, u32); 2] {
        let limits = &self.throttle.limits;
        [
            (&self.pair, limits.per_account),
            (&self.address, limits.per_address),
        ]
    }

    /// The password was right: the pair's failures are forgotten, and the account and the
    /// address get this attempt back. They keep their other failures: the owner logging in
    /// must not reset the wait of a guesser elsewhere, and a guesser who owns one account must
    /// not reset the address budget by logging into it.
    pub async fn succeeded(self) {
        let store = &self.throttle.store;
        if let Err(error) = store.forget_count(&self.pair).await {
            tracing::warn!(%error, "a pair's login failures could not be forgotten");
        }
        give_back(store, &self.account, u32::MAX).await;
        give_back(store, &self.address, self.throttle.limits.per_address).await;
    }

    /// The password was never checked (the server was too busy): the attempt is given back.
    pub async fn not_checked(self) {
        for (subject, limit) in self.locking() {
            give_back(&self.throttle.store, subject, limit).await;
        }
        give_back(&self.throttle.store, &self.account, u32::MAX).await;
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

    async fn throttle_with(max_delay: Duration) -> (tempfile::TempDir, LoginThrottle) {
        let (dir, store) = Store::temporary().await;
        let limits = ThrottleLimits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
            max_delay,
        };
        (dir, LoginThrottle::new(store, limits))
    }

    async fn throttle() -> (tempfile::TempDir, LoginThrottle) {
        throttle_with(Duration::ZERO).await
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));
    const THIRD: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 10));

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
            locked(t.begin("alice", HOME).await),
            "a fourth guess from the address is refused before any of the three has an outcome"
        );
        assert!(
            !locked(t.begin("alice", OTHER).await),
            "the owner elsewhere is not refused"
        );
        assert!(
            !locked(t.begin("bob", HOME).await),
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
    async fn success_clears_the_pair_count_but_not_the_address_count() {
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
            "carol's pair at home had none"
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

    #[tokio::test]
    async fn the_wait_doubles_with_each_failure_past_the_limit_up_to_the_cap() {
        let (_dir, t) = throttle_with(Duration::from_secs(1)).await;
        let waits: Vec<u64> = (0..7).map(|n| t.delay(n).as_millis() as u64).collect();
        assert_eq!(waits, [0, 0, 0, 500, 1000, 1000, 1000]);
    }

    #[tokio::test]
    async fn failures_from_everywhere_slow_the_account_until_it_is_unlocked() {
        let (_dir, t) = throttle_with(Duration::from_millis(5)).await;
        let mut waits = Vec::new();
        for address in [HOME, HOME, HOME, OTHER, THIRD] {
            waits.push(t.begin("frank", address).await.unwrap().waited);
        }
        let ms = Duration::from_millis;
        assert_eq!(waits, [ms(0), ms(0), ms(0), ms(5), ms(5)]);
        assert!(
            locked(t.begin("frank", HOME).await),
            "the pair at home is locked"
        );
        t.unlock("Frank").await.unwrap();
        let attempt = t.begin("frank", HOME).await.expect("the pair is unlocked");
        assert_eq!(
            attempt.waited,
            Duration::ZERO,
            "and the account's failures forgotten"
        );
    }

    #[test]
    fn an_overlong_name_is_counted_under_a_bounded_subject() {
        let long = "X".repeat(10_000);
        assert_eq!(account_name(&long).len(), USERNAME_MAX + 1);
        assert_eq!(account_name("Alice"), "alice");
    }
}

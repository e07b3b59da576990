//! The registration limit: accounts one client address may create per hour, so that a script
//! cannot fill the database with accounts or keep the password hasher busy through sign-ups.

use std::net::IpAddr;
use std::time::Duration;

use super::tally::Tally;

const HOUR: Duration = Duration::from_secs(3600);

/// Cheap-to-clone handle on the counts.
#[derive(Debug, Clone)]
pub struct SignupLimit {
    per_hour: u32,
    tally: Tally<IpAddr>,
}

/// A registration that was let through and counts against its address. Dropping it leaves it
/// counted; [`Signup::not_created`] gives it back.
#[must_use = "a sign-up counts unless it is given back"]
#[derive(Debug)]
pub struct Signup {
    limit: SignupLimit,
    address: IpAddr,
}

impl SignupLimit {
    pub fn new(per_hour: u32) -> Self {
        Self {
            per_hour,
            tally: Tally::new(HOUR),
        }
    }

    /// Lets a registration through, or returns how long this address must wait.
    pub fn begin(&self, address: IpAddr) -> Result<Signup, Duration> {
        self.tally.take(&[(address, self.per_hour)])?;
        Ok(Signup {
            limit: self.clone(),
            address,
        })
    }
}

impl Signup {
    /// No account was created (the name was taken, or the server was too busy to hash).
    pub fn not_created(self) {
        let limit = &self.limit;
        limit.tally.give_back(&[(self.address, limit.per_hour)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    #[tokio::test(start_paused = true)]
    async fn an_address_may_create_its_quota_per_hour_and_failed_ones_do_not_count() {
        let limit = SignupLimit::new(2);
        drop(limit.begin(HOME).unwrap());
        limit.begin(HOME).unwrap().not_created();
        drop(limit.begin(HOME).unwrap());
        let wait = limit.begin(HOME).expect_err("two accounts were created");
        assert!(wait > Duration::from_secs(3599));
        assert!(limit.begin(OTHER).is_ok());
        tokio::time::advance(HOUR).await;
        assert!(limit.begin(HOME).is_ok());
    }
}

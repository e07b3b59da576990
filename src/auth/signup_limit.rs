//! The registration limit: accounts one client address may create per hour, so that a script
//! cannot fill the database with accounts or keep the password hasher busy through sign-ups.
//! Counted in the database with the login failures, so the limit holds across nodes.

use std::net::IpAddr;
use std::time::Duration;

use super::throttle::{give_back, Refused};
use crate::clock::now_millis;
use crate::store::Store;

const HOUR: Duration = Duration::from_secs(3600);

/// Cheap-to-clone handle on the counts.
#[derive(Debug, Clone)]
pub struct SignupLimit {
    store: Store,
    per_hour: u32,
}

/// A registration that was let through and counts against its address. Dropping it leaves it
/// counted; [`Signup::not_created`] gives it back.
#[must_use = "a sign-up counts unless it is given back"]
#[derive(Debug)]
pub struct Signup {
    limit: SignupLimit,
    subject: String,
}

impl SignupLimit {
    pub fn new(store: Store, per_hour: u32) -> Self {
        Self { store, per_hour }
    }

    /// Lets a registration through, or says why not.
    pub async fn begin(&self, address: IpAddr) -> Result<Signup, Refused> {
        let subject = format!("signup:{address}");
        self.store
            .take_counts(&[(&subject, self.per_hour)], HOUR, now_millis())
            .await?
            .map_err(Refused::Locked)?;
        Ok(Signup {
            limit: self.clone(),
            subject,
        })
    }
}

impl Signup {
    /// No account was created (the name was taken, or the server was too busy to hash).
    pub async fn not_created(self) {
        give_back(&self.limit.store, &self.subject, self.limit.per_hour).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    #[tokio::test]
    async fn an_address_may_create_its_quota_per_hour_and_failed_ones_do_not_count() {
        let (_dir, store) = Store::temporary().await;
        let limit = SignupLimit::new(store, 2);
        drop(limit.begin(HOME).await.unwrap());
        limit.begin(HOME).await.unwrap().not_created().await;
        drop(limit.begin(HOME).await.unwrap());
        match limit.begin(HOME).await {
            Err(Refused::Locked(wait)) => assert!(wait > Duration::from_secs(3599)),
            other => panic!("two accounts were created: {other:?}"),
        }
        assert!(limit.begin(OTHER).await.is_ok());
    }
}

//! The gate every password hash of a request passes. Each argon2 run takes 19 MiB and a core,
//! so an unbounded burst of logins would exhaust memory: `slots` hashes run at once, `queue`
//! more may wait for a slot, and anyone beyond them is turned away at once (503). The running
//! hashes reuse a pool of working memory, one per slot, rather than allocating 19 MiB each:
//! freed blocks that size stay in the allocator's per-thread caches, so a burst of short-lived
//! allocations would keep hundreds of MiB resident after the hashes are done.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::Semaphore;

use super::password::{hash_blocking, verify_blocking, Memory};

/// Why [`Hashing`] did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot is taken and the queue is full: try again shortly.
    #[error("the password hasher is busy")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Cheap-to-clone handle on the gate.
#[derive(Debug, Clone)]
pub struct Hashing {
    running: Arc<Semaphore>,
    /// Permits for running and waiting together: taken without waiting, or not at all.
    admitted: Arc<Semaphore>,
    /// Working memory of finished hashes, for the next ones: never more than `slots` of them.
    memory: Arc<Mutex<Vec<Memory>>>,
}

impl Hashing {
    pub fn new(slots: usize, queue: usize) -> Self {
        let slots = slots.max(1);
        Self {
            running: Arc::new(Semaphore::new(slots)),
            admitted: Arc::new(Semaphore::new(slots.saturating_add(queue))),
            memory: Arc::default(),
        }
    }

    /// Hashes `password` with a new salt into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |memory| hash_blocking(&password, memory))
            .await
    }

    /// Checks `password` against `stored` (a PHC string), or against the dummy hash when there
    /// is no such user. Returns whether it matched; always false without a stored hash.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.run(move |memory| verify_blocking(&password, stored, memory))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .context("the hashing gate was closed")?;
        let pool = Arc::clone(&self.memory);
        // The permits go into the blocking task: a request dropped mid-hash (its client gone)
        // must not free the slot while the hash still runs and holds its memory.
        let result = tokio::task::spawn_blocking(move || {
            let _permits = (admitted, running);
            let spare = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut memory = spare.unwrap_or_default();
            let result = job(&mut memory);
            pool.lock().unwrap_or_else(|p| p.into_inner()).push(memory);
            result
        })
        .await
        .context("the password hashing task failed")?;
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_a_hash_is_refused_at_once() {
        let gate = Hashing::new(1, 1);
        let held = Arc::clone(&gate.running).try_acquire_owned().unwrap();
        let admitted = Arc::clone(&gate.admitted).try_acquire_owned().unwrap();
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.hash("long enough".to_owned()).await }
        });
        while gate.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            gate.verify("guess".to_owned(), None).await,
            Err(HashError::Busy)
        ));
        drop((held, admitted));
        let phc = waiting.await.unwrap().expect("the waiting hash ran");
        assert!(gate
            .verify("long enough".to_owned(), Some(phc))
            .await
            .unwrap());
        assert_eq!(
            gate.admitted.available_permits(),
            2,
            "every permit came back"
        );
        let pool = gate.memory.lock().unwrap();
        assert_eq!(pool.len(), 1, "one slot, one working memory, reused");
    }
}

//! Counting events per key within a time window: once a key's count reaches its limit, the key
//! is locked for a window. An event is counted when it starts, not when its outcome is known, so
//! that a burst of simultaneous requests cannot all pass before the first one is counted; an
//! event that turns out not to count is given back. Login throttling and the registration limit
//! both count with it. Counts live in memory: a restart forgets them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u32,
    /// When the first event still counted happened; the count starts over a window after it.
    since: Instant,
    /// Set when the count reaches the limit: the key is refused until then.
    locked_until: Option<Instant>,
}

impl Entry {
    fn fresh(now: Instant) -> Self {
        Self {
            count: 0,
            since: now,
            locked_until: None,
        }
    }

    fn is_stale(&self, now: Instant, window: Duration) -> bool {
        self.locked_until
            .map_or(now.duration_since(self.since) >= window, |until| {
                now >= until
            })
    }
}

/// Entries kept before expired ones are swept, so a flood of random keys stays bounded.
const SWEEP_ABOVE: usize = 10_000;

/// Cheap-to-clone handle on the counts.
#[derive(Debug, Clone)]
pub struct Tally<K> {
    window: Duration,
    /// A std mutex: it guards a map update and is never held across an `.await`.
    entries: Arc<Mutex<HashMap<K, Entry>>>,
}

impl<K: Eq + Hash + Clone> Tally<K> {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            entries: Arc::default(),
        }
    }

    /// Counts one event for every key, each with its limit. When any of them is locked, nothing
    /// is counted and the longest remaining wait is returned instead.
    pub fn take(&self, keys: &[(K, u32)]) -> Result<(), Duration> {
        let now = Instant::now();
        let window = self.window;
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, e| !e.is_stale(now, window));
        }
        let wait = keys
            .iter()
            .filter_map(|(key, _)| map.get(key))
            .filter(|e| !e.is_stale(now, window))
            .filter_map(|e| e.locked_until)
            .filter_map(|until| until.checked_duration_since(now))
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, limit) in keys {
            let entry = map.entry(key.clone()).or_insert(Entry::fresh(now));
            if entry.is_stale(now, window) {
                *entry = Entry::fresh(now);
            }
            entry.count += 1;
            if entry.count >= (*limit).max(1) {
                entry.locked_until = Some(now + window);
            }
        }
        Ok(())
    }

    /// Takes back one event that [`Tally::take`] counted for these keys, lifting a lock it set.
    pub fn give_back(&self, keys: &[(K, u32)]) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for (key, limit) in keys {
            if let Some(entry) = map.get_mut(key) {
                entry.count = entry.count.saturating_sub(1);
                if entry.count < (*limit).max(1) {
                    entry.locked_until = None;
                }
            }
        }
    }

    /// Forgets a key's count.
    pub fn forget(&self, key: &K) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn the_event_that_reaches_the_limit_passes_and_locks_the_key_for_a_window() {
        let tally = Tally::new(MINUTE);
        for _ in 0..3 {
            assert_eq!(tally.take(&[("a", 3)]), Ok(()));
        }
        let wait = tally.take(&[("a", 3)]).expect_err("locked at the limit");
        assert!(wait <= MINUTE && wait > MINUTE - Duration::from_secs(1));
        assert_eq!(
            tally.take(&[("b", 3)]),
            Ok(()),
            "other keys are not affected"
        );
        tokio::time::advance(MINUTE).await;
        assert_eq!(tally.take(&[("a", 3)]), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_event_counts_for_none_of_its_keys() {
        let tally = Tally::new(MINUTE);
        tally.take(&[("locked", 1)]).unwrap();
        assert!(tally.take(&[("free", 2), ("locked", 1)]).is_err());
        tally.take(&[("free", 2)]).unwrap();
        assert_eq!(
            tally.take(&[("free", 2)]),
            Ok(()),
            "the refused event was not counted, so this is the second"
        );
        assert!(tally.take(&[("free", 2)]).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn giving_back_lifts_the_lock_the_event_set() {
        let tally = Tally::new(MINUTE);
        tally.take(&[("a", 2)]).unwrap();
        tally.take(&[("a", 2)]).unwrap();
        assert!(tally.take(&[("a", 2)]).is_err());
        tally.give_back(&[("a", 2)]);
        assert_eq!(tally.take(&[("a", 2)]), Ok(()));
        assert!(tally.take(&[("a", 2)]).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn counts_older_than_the_window_are_forgotten() {
        let tally = Tally::new(MINUTE);
        tally.take(&[("a", 2)]).unwrap();
        tokio::time::advance(MINUTE).await;
        tally.take(&[("a", 2)]).unwrap();
        assert_eq!(
            tally.take(&[("a", 2)]),
            Ok(()),
            "the first event was forgotten"
        );
        assert!(tally.take(&[("a", 2)]).is_err());
        tally.forget(&"a");
        assert_eq!(tally.take(&[("a", 2)]), Ok(()));
    }
}

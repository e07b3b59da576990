//! When each marked edit was sent: per writer, a slot per sequence number holding its send time,
//! written once by the writer just before it sends and read by every reader that finds the
//! marker (`marker.rs`). Atomics in a table sized up front: no lock on the readers' path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use yrs::ClientID;

use crate::marker;

/// One writer's send times, by sequence number.
struct Writer {
    id: ClientID,
    /// Nanoseconds since the epoch plus one; 0: not sent (yet).
    sent: Box<[AtomicU64]>,
}

/// Every writer of the run, by the index its markers carry.
pub struct Marks {
    epoch: Instant,
    writers: Vec<Writer>,
}

impl Marks {
    /// Writers `ids` (marker index = position), each with room for `capacity` edits.
    pub fn new(ids: impl IntoIterator<Item = ClientID>, capacity: usize) -> Self {
        let capacity = capacity.min(marker::LIMIT as usize - 1);
        let writers = ids
            .into_iter()
            .map(|id| Writer {
                id,
                sent: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            })
            .collect();
        Marks {
            epoch: Instant::now(),
            writers,
        }
    }

    /// Records that `writer` sends its edit `seq` (from 1) at `at`; false when the table has no
    /// room for it (the writer must not send it: nobody could measure it).
    pub fn record(&self, writer: u32, seq: u32, at: Instant) -> bool {
        let Some(slot) = self.slot(writer, seq) else {
            return false;
        };
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        let stamp = u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1;
        slot.store(stamp, Ordering::Release);
        true
    }

    /// The author and send time of a marker's edit; `None` for a marker no writer sent.
    pub fn sent(&self, writer: u32, seq: u32) -> Option<(ClientID, Instant)> {
        let stamp = self.slot(writer, seq)?.load(Ordering::Acquire);
        let id = self.writers.get(writer as usize)?.id;
        let at = self.epoch + Duration::from_nanos(stamp.checked_sub(1)?);
        Some((id, at))
    }

    /// Whether `writer`'s edit `seq` fits the table.
    pub fn has_room(&self, writer: u32, seq: u32) -> bool {
        self.slot(writer, seq).is_some()
    }

    fn slot(&self, writer: u32, seq: u32) -> Option<&AtomicU64> {
        let index = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.writers.get(writer as usize)?.sent.get(index)
    }
}

/// Edits one writer may need room for: `rate` a second over `secs`, with a margin.
pub fn capacity(rate: f64, secs: f64) -> usize {
    (rate.max(0.0) * (secs.max(0.0) + 2.0) * 1.2) as usize + 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_times_are_found_by_writer_and_sequence_only_once_recorded() {
        let marks = Marks::new([ClientID::new(5), ClientID::new(6)], 2);
        let at = Instant::now();
        assert!(marks.sent(1, 1).is_none());
        assert!(marks.record(1, 1, at));
        assert_eq!(marks.sent(1, 1), Some((ClientID::new(6), at)));
        assert!(marks.record(1, 2, at));
        assert!(!marks.record(1, 3, at), "beyond the capacity");
        assert!(marks.sent(1, 0).is_none() && marks.sent(2, 1).is_none());
        assert!(marks.sent(0, 1).is_none());
    }
}

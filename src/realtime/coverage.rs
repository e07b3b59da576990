//! Which entries of a room's update log a node's live document is known to hold: every entry
//! up to `have`, plus ranges beyond it that arrived early. Entries arrive out of order when
//! several nodes append to one room's log: the database numbers them in commit order, but each
//! node announces its own on the bus a little later. A hole that does not fill soon means a
//! notice was lost; the room then catches up from the database.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub(super) struct Coverage {
    /// Every entry up to this one is held.
    have: i64,
    /// Held ranges beyond `have + 1`, first to last.
    beyond: BTreeMap<i64, i64>,
}

impl Coverage {
    /// Holding everything up to `have`.
    pub(super) fn new(have: i64) -> Self {
        Self {
            have,
            beyond: BTreeMap::new(),
        }
    }

    /// Every entry up to this one is held.
    pub(super) fn have(&self) -> i64 {
        self.have
    }

    /// Whether some entries after `have` are missing while later ones are held.
    pub(super) fn has_hole(&self) -> bool {
        !self.beyond.is_empty()
    }

    /// Entries `first..=last` are held now.
    pub(super) fn add(&mut self, first: i64, last: i64) {
        if last <= self.have || first > last {
            return;
        }
        let end = self.beyond.entry(first).or_insert(last);
        *end = (*end).max(last);
        self.advance();
    }

    /// Everything up to `upto` is held now (the room caught up from the database).
    pub(super) fn caught_up(&mut self, upto: i64) {
        self.have = self.have.max(upto);
        self.advance();
    }

    /// Moves `have` over the ranges that now follow on from it, and forgets those behind it.
    fn advance(&mut self) {
        while let Some((&first, &last)) = self.beyond.first_key_value() {
            if first > self.have + 1 {
                break;
            }
            self.beyond.remove(&first);
            self.have = self.have.max(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Coverage;

    #[test]
    fn ranges_in_order_move_the_mark_on() {
        let mut coverage = Coverage::new(4);
        coverage.add(5, 7);
        coverage.add(8, 8);
        assert_eq!(coverage.have(), 8);
        assert!(!coverage.has_hole());
    }

    #[test]
    fn a_range_ahead_of_a_missing_one_waits_until_the_hole_fills() {
        let mut coverage = Coverage::new(0);
        coverage.add(4, 6);
        coverage.add(9, 9);
        assert_eq!(coverage.have(), 0);
        assert!(coverage.has_hole());
        coverage.add(1, 3);
        assert_eq!(coverage.have(), 6);
        assert!(coverage.has_hole(), "7 and 8 are still missing");
        coverage.add(7, 8);
        assert_eq!(coverage.have(), 9);
        assert!(!coverage.has_hole());
    }

    #[test]
    fn catching_up_covers_the_holes_below_it_and_keeps_what_is_beyond() {
        let mut coverage = Coverage::new(2);
        coverage.add(5, 5);
        coverage.add(8, 10);
        coverage.caught_up(6);
        assert_eq!(coverage.have(), 6);
        assert!(coverage.has_hole());
        coverage.caught_up(7);
        assert_eq!(coverage.have(), 10);
        assert!(!coverage.has_hole());
    }

    #[test]
    fn old_and_overlapping_ranges_change_nothing_they_should_not() {
        let mut coverage = Coverage::new(10);
        coverage.add(3, 9);
        coverage.add(9, 12);
        assert_eq!(coverage.have(), 12);
        coverage.add(14, 15);
        coverage.add(14, 20);
        coverage.add(13, 13);
        assert_eq!(coverage.have(), 20);
    }
}

//! The marker every typed edit carries, so that a reader can tell which edits a frame delivered
//! by scanning its bytes, without decoding Yjs. A v1 update stores inserted text verbatim as
//! UTF-8 (a lib0 varString), and an update that merges several edits still holds each edit's
//! text whole: Yjs and yrs `mergeUpdates` (Hocuspocus merges the updates of one event-loop turn)
//! keep each edit's item, and ChatSpace's coalescing of a typist's run concatenates the run's
//! texts into one string. So each marker found is one edit delivered.
//!
//! A marker is 8 ASCII bytes (8 UTF-16 units): `\x01`, the writer's index in the run and the
//! edit's sequence number (from 1) in 3 base-64 digits each (`'0'..='o'`), `\x02`. The control
//! bytes make a match by chance inside an update's own encoding (lengths, client ids, clocks)
//! unlikely, and the tracker ignores a marker naming a writer or an edit that does not exist.
//! A marker split across two items (a document re-encoded from its store after another insert
//! landed inside it, as in a sync step 2) is not found: servers relay what they receive, merged
//! or not, so only a resync after a lost connection can miss edits this way.

/// Bytes in a marker.
pub const LEN: usize = 8;
const START: u8 = 0x01;
const END: u8 = 0x02;
const DIGITS: usize = 3;
const ZERO: u8 = b'0';
const BASE: u32 = 64;
/// One more than the largest writer index or sequence number a marker can hold.
pub const LIMIT: u32 = BASE * BASE * BASE;

/// The marker of `writer`'s edit number `seq`, both below [`LIMIT`] (taken modulo it).
pub fn encode(writer: u32, seq: u32) -> String {
    let mut out = [START, 0, 0, 0, 0, 0, 0, END];
    put(&mut out[1..=DIGITS], writer);
    put(&mut out[1 + DIGITS..=2 * DIGITS], seq);
    // Every byte is ASCII.
    out.iter().map(|&b| char::from(b)).collect()
}

fn put(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        // `value % BASE` < 64, so the digit is ASCII.
        *slot = ZERO + (value % BASE) as u8;
        value /= BASE;
    }
}

fn digit(b: u8) -> Option<u32> {
    let d = u32::from(b.checked_sub(ZERO)?);
    (d < BASE).then_some(d)
}

fn number(bytes: &[u8]) -> Option<u32> {
    bytes
        .iter()
        .try_fold(0, |acc, &b| Some(acc * BASE + digit(b)?))
}

/// Calls `found(writer, seq)` for every marker in `bytes`, in order.
pub fn scan(bytes: &[u8], mut found: impl FnMut(u32, u32)) {
    let mut from = 0;
    while let Some(offset) = bytes
        .get(from..)
        .and_then(|b| b.iter().position(|&x| x == START))
    {
        let at = from + offset;
        let parsed = bytes.get(at..at + LEN).and_then(|m| {
            let ok = m.get(LEN - 1) == Some(&END);
            let writer = number(m.get(1..=DIGITS)?)?;
            let seq = number(m.get(1 + DIGITS..=2 * DIGITS)?)?;
            ok.then_some((writer, seq))
        });
        match parsed {
            Some((writer, seq)) => {
                found(writer, seq);
                from = at + LEN;
            }
            None => from = at + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::FullDoc;
    use chatspace_crdt::codec::coalesce_typing;
    use chatspace_crdt::IncomingUpdate;
    use yrs::ClientID;

    fn found(bytes: &[u8]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        scan(bytes, |w, s| out.push((w, s)));
        out
    }

    #[test]
    fn markers_round_trip_and_garbage_around_them_is_skipped() {
        let m = encode(4_000, LIMIT - 1);
        assert_eq!(m.len(), LEN);
        let mut bytes = vec![1, 1, 2, 0xff, 1];
        bytes.extend_from_slice(m.as_bytes());
        bytes.extend_from_slice(b"\x01oo\x02");
        bytes.extend_from_slice(encode(0, 1).as_bytes());
        bytes.extend_from_slice(&encode(7, 9).as_bytes()[..LEN - 1]);
        assert_eq!(found(&bytes), [(4_000, LIMIT - 1), (0, 1)]);
        assert!(found(b"").is_empty());
    }

    /// What a reader relies on: a relayed update, alone or merged, still holds every marker:
    /// merged as Hocuspocus and yrs merge (each edit's item kept apart), or coalesced as
    /// ChatSpace does a typist's run (the texts concatenated into one string).
    #[test]
    fn every_edit_of_a_merged_update_is_found() {
        let (a, b) = (
            FullDoc::new(ClientID::new(1)),
            FullDoc::new(ClientID::new(2)),
        );
        let (mut updates, mut run) = (Vec::new(), Vec::new());
        for seq in 1..=3 {
            // Writer 0 types at its cursor: a run of text.
            let at = a.len();
            let update = a.splice(&[(at, 0, &encode(0, seq))], false).unwrap();
            run.push(((), IncomingUpdate::check_v1(update.clone()).unwrap()));
            updates.push(update);
            let text = format!("{}xy", encode(1, seq));
            updates.push(b.splice(&[(0, 0, &text)], false).unwrap());
        }
        assert_eq!(found(&updates[0]), [(0, 1)]);
        let merged = yrs::merge_updates_v1(&updates).unwrap();
        let mut all = found(&merged);
        all.sort_unstable();
        let want: Vec<(u32, u32)> = (0..2).flat_map(|w| (1..=3).map(move |s| (w, s))).collect();
        assert_eq!(all, want);
        let coalesced = coalesce_typing(run);
        assert_eq!(coalesced.len(), 1, "the run became one update");
        let squashed = (1..=3).map(|s| encode(0, s)).collect::<String>();
        let bytes = coalesced[0].1.raw();
        assert!(bytes.windows(LEN * 3).any(|w| w == squashed.as_bytes()));
        assert_eq!(found(bytes), [(0, 1), (0, 2), (0, 3)]);
    }
}

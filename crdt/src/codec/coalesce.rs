//! Coalescing typing: adjacent updates of one sender that continue the same run of text, or that
//! only delete, become one update, integrated, stored and relayed once.
//!
//! A Yjs client typing sends one update per keystroke: one string item whose left origin is the
//! last character of the previous keystroke, with the next clock and the same right origin.
//! yrs squashes such items into one block when it commits, so applying them one by one costs a
//! whole integration each for a block that ends up merged anyway. Written as one item (the
//! first update's header, the texts one after the other), the run is the exact block yrs would
//! have built: split at any point it gives back each keystroke's item with its own origins, so
//! every peer converges to the same document whether it gets the run or the keystrokes.
//!
//! Backspacing sends updates that only carry a delete set; deletions commute and repeat
//! harmlessly, so adjacent ones merge into one delete set (ranges sorted and joined per client,
//! as yrs keeps one entry per client).
//!
//! Only the plainest shapes are merged: one client, one string item, no deletions, no parent
//! key; or deletions alone. Anything else passes through untouched, so a surprise costs speed,
//! never correctness.

use super::lib0::{Reader, Writer};
use super::preflight::{CONTENT_STRING, HAS_ORIGIN, HAS_PARENT_SUB, HAS_RIGHT_ORIGIN};
use super::IncomingUpdate;
use std::ops::Range;

/// An item id: client and clock.
type Id = (u64, u32);
/// Deleted ranges `(clock, len)` per client.
type DeleteSet = Vec<(u64, Vec<(u32, u32)>)>;

/// The content reference of an info byte, as Yjs reads it (the flags are above it).
const CONTENT_MASK: u8 = 0b0001_1111;

/// The shapes of update that can merge with their neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mergeable {
    Text(TextRun),
    /// Deletions alone (read again from the bytes when merged).
    Deletes,
}

impl Mergeable {
    /// Reads the shape of `raw`, or `None` when it is neither a typed run nor deletions alone.
    fn parse(raw: &[u8]) -> Option<Mergeable> {
        match raw.first() {
            Some(0) => {
                let mut clients = 0;
                read_deletes(raw, |_, _| clients += 1)?;
                (clients > 0).then_some(Mergeable::Deletes)
            }
            _ => TextRun::parse(raw).map(Mergeable::Text),
        }
    }

    /// Whether `next` can join a stretch that ends with this update.
    fn continued_by(&self, next: &Mergeable) -> bool {
        match (self, next) {
            (Mergeable::Text(a), Mergeable::Text(b)) => a.continued_by(b),
            (Mergeable::Deletes, Mergeable::Deletes) => true,
            _ => false,
        }
    }
}

/// Reads an update without items (`[0, clients, ...]`) that holds a delete set and nothing
/// else, passing each client's id and ranges `(clock, len)` to `each`; `None` for anything else.
fn read_deletes(
    raw: &[u8],
    mut each: impl FnMut(u64, &mut dyn Iterator<Item = (u32, u32)>),
) -> Option<()> {
    let mut r = Reader::new(raw);
    if r.var_u64().ok()? != 0 {
        return None;
    }
    let clients = r.count(2).ok()?;
    for _ in 0..clients {
        let client = r.var_js().ok()?;
        let count = r.count(2).ok()?;
        let mut ranges = RangeReader {
            r: &mut r,
            left: count,
            bad: false,
        };
        each(client, &mut ranges);
        // Whatever `each` left unread is checked here.
        ranges.by_ref().for_each(drop);
        if ranges.bad {
            return None;
        }
    }
    (r.remaining() == 0).then_some(())
}

/// The `(clock, len)` ranges of one client in a delete set; stops and sets `bad` at the first
/// malformed or overflowing one.
struct RangeReader<'r, 'a> {
    r: &'r mut Reader<'a>,
    left: usize,
    bad: bool,
}

impl Iterator for RangeReader<'_, '_> {
    type Item = (u32, u32);

    fn next(&mut self) -> Option<(u32, u32)> {
        if self.left == 0 || self.bad {
            return None;
        }
        self.left -= 1;
        let range = match (self.r.var_u32(), self.r.var_u32()) {
            (Ok(clock), Ok(len)) if clock.checked_add(len).is_some() => (clock, len),
            _ => {
                self.bad = true;
                return None;
            }
        };
        Some(range)
    }
}

/// Where a one-item string update keeps its parts, and the ids that decide whether the next
/// update continues it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TextRun {
    client: u64,
    clock: u32,
    /// Clocks the item takes: its length in UTF-16 code units, as Yjs counts.
    len: u32,
    origin: Option<Id>,
    right_origin: Option<Id>,
    /// From the info byte to the end of the origins or parent: copied as is.
    head: Range<usize>,
    /// The UTF-8 text, without its length prefix.
    text: Range<usize>,
}

impl TextRun {
    /// Reads `raw` as a one-item string update, or `None` for any other shape.
    fn parse(raw: &[u8]) -> Option<TextRun> {
        let mut r = Reader::new(raw);
        if r.var_u64().ok()? != 1 || r.var_u64().ok()? != 1 {
            return None;
        }
        let client = r.var_js().ok()?;
        let clock = r.var_u32().ok()?;
        let head_start = r.position();
        let info = r.u8().ok()?;
        if info & CONTENT_MASK != CONTENT_STRING || info & HAS_PARENT_SUB != 0 {
            return None;
        }
        let id = |r: &mut Reader<'_>| Some((r.var_js().ok()?, r.var_u32().ok()?));
        let origin = if info & HAS_ORIGIN != 0 {
            id(&mut r)
        } else {
            None
        };
        let right_origin = if info & HAS_RIGHT_ORIGIN != 0 {
            id(&mut r)
        } else {
            None
        };
        if origin.is_none() && right_origin.is_none() {
            // The parent: a root name (flag 1) or the id of the parent item.
            if r.var_u64().ok()? == 1 {
                r.string().ok()?;
            } else {
                id(&mut r)?;
            }
        }
        let head = head_start..r.position();
        let text = r.string().ok()?;
        let len = u32::try_from(text.encode_utf16().count()).ok()?;
        let text_end = r.position();
        let text = text_end - text.len()..text_end;
        // An empty delete set, and nothing after it.
        if len == 0 || r.var_u64().ok()? != 0 || r.remaining() != 0 {
            return None;
        }
        Some(TextRun {
            client,
            clock,
            len,
            origin,
            right_origin,
            head,
            text,
        })
    }

    /// The clock after the run's last character.
    fn end(&self) -> Option<u32> {
        self.clock.checked_add(self.len)
    }

    /// Whether `next` was typed right after this run, in the same gap: same client, the next
    /// clock, left origin on this run's last character, same right origin.
    fn continued_by(&self, next: &TextRun) -> bool {
        next.client == self.client
            && Some(next.clock) == self.end()
            && next.origin == Some((self.client, next.clock.wrapping_sub(1)))
            && next.right_origin == self.right_origin
    }
}

/// A batch of `(sender, update)` made ready for [`crate::RoomDoc::apply_updates`]: empty updates
/// (a client with nothing new still answers the server's step 1 with an empty step 2) dropped,
/// a sender's adjacent keystrokes merged by [`coalesce_typing`], order kept.
pub fn prepare_batch<K: Copy + PartialEq>(
    mut batch: Vec<(K, IncomingUpdate)>,
) -> Vec<(K, IncomingUpdate)> {
    batch.retain(|(_, update)| !update.is_empty());
    coalesce_typing(batch)
}

/// Merges every stretch of adjacent updates that share a key (the sender) and continue one
/// another's text run into one update. Order is kept; updates of other shapes, and any stretch
/// whose merged bytes would not decode, pass through unchanged.
pub fn coalesce_typing<K: Copy + PartialEq>(
    updates: Vec<(K, IncomingUpdate)>,
) -> Vec<(K, IncomingUpdate)> {
    if updates.len() < 2 {
        return updates;
    }
    let mut out = Vec::with_capacity(updates.len());
    // The stretch being built, each update with its shape, and whose it is.
    let mut stretch: Vec<(IncomingUpdate, Mergeable)> = Vec::new();
    let mut stretch_key = None;
    for (key, update) in updates {
        let Some(shape) = Mergeable::parse(&update.raw) else {
            if let Some(k) = stretch_key.take() {
                flush(k, &mut stretch, &mut out);
            }
            out.push((key, update));
            continue;
        };
        let continues = stretch_key == Some(key)
            && stretch
                .last()
                .is_some_and(|(_, last)| last.continued_by(&shape));
        if !continues {
            if let Some(k) = stretch_key.take() {
                flush(k, &mut stretch, &mut out);
            }
        }
        stretch.push((update, shape));
        stretch_key = Some(key);
    }
    if let Some(k) = stretch_key {
        flush(k, &mut stretch, &mut out);
    }
    out
}

/// Moves the stretch into `out`: as one merged update when it holds more than one.
fn flush<K: Copy>(
    key: K,
    stretch: &mut Vec<(IncomingUpdate, Mergeable)>,
    out: &mut Vec<(K, IncomingUpdate)>,
) {
    if stretch.len() > 1 {
        if let Some(merged) = merge(stretch) {
            stretch.clear();
            out.push((key, merged));
            return;
        }
    }
    out.extend(stretch.drain(..).map(|(update, _)| (key, update)));
}

/// One update holding the whole stretch, or `None` if it would not pass the structural check.
fn merge(stretch: &[(IncomingUpdate, Mergeable)]) -> Option<IncomingUpdate> {
    let bytes = match &stretch.first()?.1 {
        Mergeable::Text(run) => merge_text(run, stretch)?,
        Mergeable::Deletes => merge_deletes(stretch)?,
    };
    IncomingUpdate::check_v1(bytes).ok()
}

/// The first update's client, clock and item header, then every update's text in order.
fn merge_text(run: &TextRun, stretch: &[(IncomingUpdate, Mergeable)]) -> Option<Vec<u8>> {
    let texts: Vec<&[u8]> = stretch
        .iter()
        .map(|(u, shape)| match shape {
            Mergeable::Text(r) => u.raw.get(r.text.clone()),
            Mergeable::Deletes => None,
        })
        .collect::<Option<_>>()?;
    let text_len: usize = texts.iter().map(|t| t.len()).sum();
    let head = stretch.first()?.0.raw.get(run.head.clone())?;
    let mut w = Writer::with_capacity(head.len() + text_len + 32);
    w.var_u64(1).var_u64(1).var_u64(run.client);
    w.var_u64(u64::from(run.clock)).raw(head);
    w.var_u64(text_len as u64);
    for text in texts {
        w.raw(text);
    }
    // An empty delete set.
    w.var_u64(0);
    Some(w.into_vec())
}

/// No items, then one delete set: per client (in order of first appearance) its ranges sorted
/// by clock, overlapping or touching ones joined.
fn merge_deletes(stretch: &[(IncomingUpdate, Mergeable)]) -> Option<Vec<u8>> {
    let mut clients: DeleteSet = Vec::new();
    for (update, _) in stretch {
        read_deletes(&update.raw, |client, ranges| {
            match clients.iter_mut().find(|(c, _)| *c == client) {
                Some((_, all)) => all.extend(ranges),
                None => clients.push((client, ranges.collect())),
            }
        })?;
    }
    let mut w = Writer::with_capacity(16 * clients.len() + 8);
    w.var_u64(0).var_u64(clients.len() as u64);
    for (client, mut ranges) in clients {
        ranges.sort_unstable();
        let mut joined: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (clock, len) in ranges {
            match joined.last_mut() {
                Some((start, n)) if clock <= *start + *n => {
                    *n = (*n).max(clock + len - *start);
                }
                _ => joined.push((clock, len)),
            }
        }
        w.var_u64(client).var_u64(joined.len() as u64);
        for (clock, len) in joined {
            w.var_u64(u64::from(clock)).var_u64(u64::from(len));
        }
    }
    Some(w.into_vec())
}

//! Checks of client-supplied Yjs v1 data *before* yrs decodes it: first that the bytes cannot
//! push yrs over a memory or stack cliff, then that they hold only what a ChatSpace room is
//! made of.
//!
//! **Structure.** yrs 0.28 decodes updates with `try_reserve(declared_count)`: a count that does
//! not fit in memory is an error, but one that does fit is reserved (and, for hash maps, its
//! control bytes are written) before a single element is read. Measured here: a 5-byte update
//! declaring 2^27 clients made yrs touch ~260 MB. Nested `Any` values are also decoded
//! recursively without a depth limit, so a frame of `[117, 1, 117, 1, ...]` would overflow the
//! stack, which aborts the process (no `catch_unwind` can help). See y-crdt/y-crdt PR #639 and
//! issue #415 for the upstream history of these allocation bombs. The walk follows the v1
//! layout exactly as yrs reads it (`Update::decode`, `Update::decode_block`,
//! `ItemContent::decode`, `Any::decode`, `IdSet::decode` in yrs 0.28.1) without allocating, and
//! rejects counts larger than the remaining bytes could hold, client ids above 2^53 (yrs
//! debug-asserts on them and silently truncates them in release), `Any` nesting deeper than
//! [`MAX_ANY_DEPTH`], and legacy JSON content, which yrs cannot re-encode faithfully.
//!
//! **The room's schema** ([`Rules::Text`], every update a client sends): see [`text`] for what
//! a client update may hold and why. The room also needs to know where each client section's
//! content lies on its client's clock, so the walk records a `Span` per section.
//!
//! Stored data is read with [`Rules::Structure`] alone: a room saved before these rules keeps
//! loading, with one exception: a client listed twice in the structs is refused under either
//! rules. yrs 0.28.1 appends the blocks of the second list to the first, so a client's blocks
//! are no longer sorted by clock; `BlockSet::exclude`, which drops what the document already
//! has, assumes they are, and lets through a block over clocks the document holds; then
//! `BlockStore::push`, which takes any block that is not at the end of its client's list for
//! one filling a hole, overwrites the item there with it and frees that item while it is still
//! linked into the text. Reading the text then reads freed memory (a use-after-free in
//! `TextRef::get_string`, SIGSEGV in release builds), and once the memory is reused the list
//! can close into a cycle that `Item::resolve_conflict` walks forever. Found by fuzzing
//! (docs/reliability.md); no Yjs or yrs encoder writes a client twice, so no stored room of a
//! real client holds such an update. Strings are skipped, not checked for UTF-8: yrs's
//! `read_string` checks them and errors, it does not panic (and Yjs would only replace bad
//! bytes).

mod delete_set;
mod spans;
mod state_vector;
mod structure;
mod text;

pub(crate) use spans::{Span, Spans};
pub use state_vector::decode_state_vector_v1;

use super::lib0::Reader;
use super::DecodeError;
use delete_set::check_delete_set;
use spans::ClientSet;
use structure::check_block;
use text::check_text_block;

/// Deepest nesting of `Any` arrays/maps accepted in an update (serde_json's default limit).
pub const MAX_ANY_DEPTH: usize = 128;

// Block and content reference numbers from yrs `block.rs` (the Yjs v1 format).
const BLOCK_GC: u8 = 0;
const BLOCK_SKIP: u8 = 10;
pub(super) const HAS_ORIGIN: u8 = 0b1000_0000;
pub(super) const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
pub(super) const HAS_PARENT_SUB: u8 = 0b0010_0000;
const CONTENT_DELETED: u8 = 1;
const CONTENT_JSON: u8 = 2;
const CONTENT_BINARY: u8 = 3;
pub(super) const CONTENT_STRING: u8 = 4;
const CONTENT_EMBED: u8 = 5;
const CONTENT_FORMAT: u8 = 6;
const CONTENT_TYPE: u8 = 7;
const CONTENT_ANY: u8 = 8;
const CONTENT_DOC: u8 = 9;
// Type refs (yrs `types/mod.rs`); the `weak` feature is off, so 7 is rejected like yrs does.
const TYPE_XML_ELEMENT: u8 = 3;

fn malformed(what: &'static str) -> DecodeError {
    DecodeError::MalformedUpdate(what.into())
}

/// Which rules an update is checked against (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Only what keeps yrs's decoder off its cliffs: for data this server stored itself.
    Structure,
    /// [`Rules::Structure`] and the room's schema: plain text in the `colabspace` root. Every
    /// update a client sends is held to this.
    Text,
}

/// Checks that `bytes` is structurally a Yjs v1 update that yrs can decode without a
/// memory or stack cliff. Bytes after the delete set are ignored, as yrs and Yjs do.
pub fn check_update_v1(bytes: &[u8]) -> Result<(), DecodeError> {
    update_v1_len(bytes).map(|_| ())
}

/// Like [`check_update_v1`], and returns how many bytes the update occupies. A stored
/// snapshot must occupy all of its bytes: a v2 snapshot read as v1 would otherwise pass as a
/// nearly empty document (v2 starts with a zero byte, which v1 reads as "no clients").
pub fn update_v1_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    scan_update_v1(bytes, Rules::Structure, usize::MAX).map(|scanned| scanned.len)
}

/// What [`scan_update_v1`] learnt of an update it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// Bytes the update occupies (see [`update_v1_len`]).
    pub len: usize,
    /// It holds no block and no deleted range, so applying it changes nothing (a client with
    /// nothing new answers the server's step 1 with such an update).
    pub empty: bool,
    /// Where the content of each client section lies on its client's clock.
    pub spans: Spans,
}
/// One block as the walk met it.
struct Walked {
    /// Length in clock ticks (see [`check_block`]).
    len: u32,
    skip: bool,
    /// The item's origin (only read under [`Rules::Text`]).
    origin: Option<(u64, u32)>,
}

/// Checks `bytes` against `rules`, also telling how long the update is and whether it carries
/// anything. Under [`Rules::Text`] it may list structs of at most `max_clients` clients (see
/// `Limits::max_update_clients`).
pub(crate) fn scan_update_v1(
    bytes: &[u8],
    rules: Rules,
    max_clients: usize,
) -> Result<Scanned, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut empty = true;
    let mut seen = ClientSet::default();
    let mut spans = Spans::default();
    // Per client: block count, client id, first clock: at least three bytes.
    let clients = r.count(3)?;
    if rules == Rules::Text && clients > max_clients {
        return Err(DecodeError::MalformedUpdate(format!(
            "an update may carry the items of at most {max_clients} clients, this one has {clients}"
        )));
    }
    for _ in 0..clients {
        // Every block is at least two bytes (GC/skip: info + length).
        let blocks = r.count(2)?;
        empty &= blocks == 0;
        let client = r.var_js()?;
        // Under any rules: see the module docs (a use-after-free in yrs). Yjs, for its part,
        // keeps the last list of a client that appears twice.
        if !seen.insert(client) {
            return Err(malformed("a client appears twice in one update"));
        }
        let mut clock = r.var_u32()?;
        let mut span: Option<Span> = None;
        let mut after_skip = true;
        for _ in 0..blocks {
            let block = match rules {
                Rules::Structure => check_block(&mut r)?,
                Rules::Text => check_text_block(&mut r, (client, clock))?,
            };
            // yrs keeps clocks in 32 bits and adds lengths to them unchecked.
            let end = clock
                .checked_add(block.len)
                .ok_or_else(|| malformed("clock overflows 32 bits"))?;
            if !block.skip {
                let (needs, chained) = match span {
                    Some(span) if !after_skip => (span.needs, span.chained),
                    _ => (
                        clock,
                        clock > 0 && block.origin == Some((client, clock - 1)),
                    ),
                };
                span = Some(Span {
                    client,
                    needs,
                    chained,
                    end,
                });
            }
            after_skip = block.skip;
            clock = end;
        }
        if let Some(span) = span {
            spans.push(span);
        }
    }
    empty &= check_delete_set(&mut r, rules)? == 0;
    Ok(Scanned {
        len: bytes.len() - r.remaining(),
        empty,
        spans,
    })
}

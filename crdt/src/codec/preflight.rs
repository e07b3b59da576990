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
//! **The room's schema** ([`Rules::Text`], every update a client sends). A room's document is
//! one plain text, `colabspace`, and yrs accepts far more than that: other root types, nested
//! types, embeds and formatting, items whose parent is an arbitrary item, items whose origin is
//! themselves. Such shapes were accepted, stored and relayed before this check existed, and
//! each of these broke a room for good: an item parented on a non-type item made the stored
//! log fail to load ("block parent ... must be deleted or shared ref type"); an item whose
//! origin lies at or after its own id makes the stock Yjs client throw in the middle of
//! applying the server's sync step 2, so every new client saw an empty document; a deleted or
//! string item of length 0 makes Yjs throw while cleaning up its transaction, after which that
//! client never emits another update. So a client update may hold only what a text client
//! writes (see `check_text_block`), with the info byte in the exact form Yjs writes it, and
//! its clocks must fit in 32 bits. The rules are a subset of both decoders': Yjs reads the
//! content reference as `info & 0x1f` and treats any info with those bits 0 as a GC, yrs
//! compares the whole byte, so only bytes both read alike pass.
//!
//! A differential check against stock Yjs (`tests/interop/differential.test.mjs`) found two
//! more: GC blocks (Yjs drops an item whose origin is one, yrs shows it), refused here; and
//! content ahead of its own client's clock, which Yjs keeps pending and yrs integrated out of
//! order. Only the room knows its clocks, so the walk records each section's `Span` and the
//! room checks it before applying.
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

use super::lib0::Reader;
use super::DecodeError;
use crate::room::TEXT_NAME;
use std::collections::HashSet;
use yrs::{ClientID, StateVector};

/// The one root a client may write to, as the bytes of its name.
const TEXT_ROOT: &[u8] = TEXT_NAME.as_bytes();

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

/// Where the content (blocks other than skips) of one client section lies on its client's
/// clock. yrs integrates a block whose predecessors of the same client are missing right away,
/// leaving a hole, unless the block depends on a missing item (origin, right origin, parent);
/// Yjs keeps every such block pending until its predecessors arrive. The server's document and
/// every client's would differ, and if the hole is later filled by its real owner, yrs mixes
/// the two; an update over the edge of a hole can also make yrs free an item it still uses
/// (docs/reliability.md). So the room refuses a section whose content neither follows on from
/// what the room has integrated of that client nor has its own missing predecessor as origin,
/// which makes yrs wait for it as Yjs does (see `RoomDoc::apply_updates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub client: u64,
    /// The clock the room must have reached for this client: the start of the section's last
    /// run of content that a skip (or the section's start) precedes.
    pub needs: u32,
    /// That run starts with an item whose origin is the clock just before it, of its own
    /// client: yrs holds it pending until that predecessor is there.
    pub chained: bool,
    /// The clock after the section's last content.
    pub end: u32,
}

/// The [`Span`]s of an update, in order. Most updates have one, kept without allocating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Spans {
    first: Option<Span>,
    rest: Vec<Span>,
}

impl Spans {
    fn push(&mut self, span: Span) {
        match self.first {
            None => self.first = Some(span),
            Some(_) => self.rest.push(span),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Span> {
        self.first.iter().chain(&self.rest)
    }
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

/// Client ids already met in one update; most updates hold one client, so the first id is
/// kept without allocating.
#[derive(Default)]
struct ClientSet {
    first: Option<u64>,
    rest: Option<HashSet<u64>>,
}

impl ClientSet {
    /// Adds `client`; false when it was already there.
    fn insert(&mut self, client: u64) -> bool {
        match self.first {
            None => {
                self.first = Some(client);
                true
            }
            Some(first) if first == client => false,
            Some(_) => self.rest.get_or_insert_with(HashSet::new).insert(client),
        }
    }
}

fn check_id(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    r.var_js()?;
    r.var_u32()?;
    Ok(())
}

/// Walks one block as yrs reads it. Its length in clock ticks is an upper bound for strings,
/// which count UTF-16 units: their byte length.
fn check_block(r: &mut Reader<'_>) -> Result<Walked, DecodeError> {
    let info = r.u8()?;
    // yrs matches the whole info byte against the GC and skip numbers (not just the low bits).
    if info == BLOCK_GC || info == BLOCK_SKIP {
        let len = r.var_u32()?;
        return Ok(Walked {
            len,
            skip: info == BLOCK_SKIP,
            origin: None,
        });
    }
    if info & HAS_ORIGIN != 0 {
        check_id(r)?;
    }
    if info & HAS_RIGHT_ORIGIN != 0 {
        check_id(r)?;
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        // Parent: a root name when the flag is 1, otherwise the id of the parent item.
        if r.var_u64()? == 1 {
            r.skip_buf()?;
        } else {
            check_id(r)?;
        }
        if info & HAS_PARENT_SUB != 0 {
            r.skip_buf()?;
        }
    }
    let len = check_content(r, info & 0b1111)?;
    Ok(Walked {
        len,
        skip: false,
        origin: None,
    })
}

/// Walks one block of a client update under [`Rules::Text`]. `at` is the block's own id. A
/// text client writes skip blocks (of missing ranges, when it passes on updates it holds
/// pending), and items of the `colabspace` text holding a string or deleted content: exactly
/// what is accepted. GC blocks are refused: deleted text stays an item with deleted content in
/// Yjs and yrs alike (only the children of a deleted nested type become GC blocks), and Yjs
/// drops an item whose origin is a GC block where yrs shows it.
fn check_text_block(r: &mut Reader<'_>, at: (u64, u32)) -> Result<Walked, DecodeError> {
    let info = r.u8()?;
    if info == BLOCK_GC {
        return Err(malformed("a GC block (text clients write none)"));
    }
    if info == BLOCK_SKIP {
        let len = positive(r.var_u32()?, "a skip block of length 0")?;
        return Ok(Walked {
            len,
            skip: true,
            origin: None,
        });
    }
    // Origin flags, then the content reference; no parent key, no bit above the reference.
    let content = info & !(HAS_ORIGIN | HAS_RIGHT_ORIGIN);
    if content != CONTENT_STRING && content != CONTENT_DELETED {
        return Err(malformed("only text may be written to the room's document"));
    }
    let mut left = None;
    for flag in [HAS_ORIGIN, HAS_RIGHT_ORIGIN] {
        if info & flag != 0 {
            let origin = (r.var_js()?, r.var_u32()?);
            // An origin is an item that existed when this one was made: of the same client,
            // that means an earlier clock. Yjs throws on one that is not (yrs does not).
            if origin.0 == at.0 && origin.1 >= at.1 {
                return Err(malformed("an item's origin is itself or comes after it"));
            }
            // An item goes between two neighbours, never on both sides of one: with the same
            // item as left and right origin, yrs places it differently depending on what it
            // integrates in the same transaction (found by fuzzing), so a reload would not give
            // back the text the room showed.
            if flag == HAS_RIGHT_ORIGIN && left == Some(origin) {
                return Err(malformed(
                    "an item's left and right origins are the same item",
                ));
            }
            if flag == HAS_ORIGIN {
                left = Some(origin);
            }
        }
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        // Without origins the parent is written out: it must be the `colabspace` root.
        if r.var_u64()? != 1 || r.buf()? != TEXT_ROOT {
            return Err(malformed("only the colabspace text may be written to"));
        }
    }
    let len = if content == CONTENT_DELETED {
        positive(r.var_u32()?, "deleted content of length 0")?
    } else {
        positive(utf16_len(r.buf()?)?, "an empty string")?
    };
    Ok(Walked {
        len,
        skip: false,
        origin: left,
    })
}

/// The length of UTF-8 `text` in UTF-16 units, which is what a string item's clock counts:
/// one per character, two for each character outside the BMP (a four-byte sequence). Bytes
/// that are not UTF-8 give some length; yrs then refuses the string when it decodes it.
fn utf16_len(text: &[u8]) -> Result<u32, DecodeError> {
    let units: usize = text
        .iter()
        .map(|&b| usize::from(b & 0xc0 != 0x80) + usize::from(b >= 0xf0))
        .sum();
    u32::try_from(units).map_err(|_| malformed("string too long"))
}

/// `len`, unless it is 0: Yjs breaks on blocks and ranges that cover nothing.
fn positive(len: u32, what: &'static str) -> Result<u32, DecodeError> {
    if len == 0 {
        Err(malformed(what))
    } else {
        Ok(len)
    }
}

/// Walks an item's content; returns its length in clock ticks (an upper bound, as in
/// [`check_block`]).
fn check_content(r: &mut Reader<'_>, content: u8) -> Result<u32, DecodeError> {
    let len = match content {
        CONTENT_DELETED => r.var_u32()?,
        CONTENT_JSON => {
            // Legacy `ContentJSON` (no current Yjs creates it) does not round-trip in yrs
            // 0.28.1: `ItemContent::decode` reads `len + 1` strings, `encode` writes `len`.
            // One such item makes every later encoding of the document undecodable (found by
            // fuzzing: `encode_state_as_update_v1` then panics in `merge_pending_v1`, and a
            // snapshot would no longer load). So it is refused at the door.
            return Err(malformed("legacy JSON content is not supported"));
        }
        // Strings are skipped too: yrs checks their UTF-8 itself and errors, it does not panic.
        CONTENT_STRING => {
            u32::try_from(r.buf()?.len()).map_err(|_| malformed("string too long"))?
        }
        CONTENT_BINARY | CONTENT_EMBED => {
            r.skip_buf()?;
            1
        }
        CONTENT_FORMAT => {
            r.skip_buf()?;
            r.skip_buf()?;
            1
        }
        CONTENT_TYPE => {
            match r.u8()? {
                TYPE_XML_ELEMENT => r.skip_buf()?,
                0..=6 | 9 | 15 => {}
                _ => return Err(malformed("unknown type reference")),
            }
            1
        }
        CONTENT_ANY => {
            let len = r.count(1)?;
            for _ in 0..len {
                check_any(r, 0)?;
            }
            u32::try_from(len).map_err(|_| malformed("too many values"))?
        }
        CONTENT_DOC => {
            r.skip_buf()?;
            check_any(r, 0)?;
            1
        }
        _ => return Err(malformed("unknown content reference")),
    };
    Ok(len)
}

/// Walks one lib0 `Any` value (`Any::decode` in yrs `any.rs`).
fn check_any(r: &mut Reader<'_>, depth: usize) -> Result<(), DecodeError> {
    if depth >= MAX_ANY_DEPTH {
        return Err(malformed("Any value nested too deeply"));
    }
    match r.u8()? {
        // undefined, null, false, true
        127 | 126 | 121 | 120 => {}
        125 => r.skip_var_i64()?,
        124 => r.skip(4)?,
        123 | 122 => r.skip(8)?,
        119 => {
            r.skip_buf()?;
        }
        118 => {
            // A map entry is a key (>= 1 byte) and a value (>= 1 byte).
            let len = r.count(2)?;
            for _ in 0..len {
                r.skip_buf()?;
                check_any(r, depth + 1)?;
            }
        }
        117 => {
            let len = r.count(1)?;
            for _ in 0..len {
                check_any(r, depth + 1)?;
            }
        }
        116 => {
            r.skip_buf()?;
        }
        _ => return Err(malformed("unknown Any tag")),
    }
    Ok(())
}

/// Returns how many ranges the delete set holds. Under [`Rules::Text`] a client may appear
/// once (yrs would keep one of its lists, Yjs applies both) and a range covers something.
fn check_delete_set(r: &mut Reader<'_>, rules: Rules) -> Result<usize, DecodeError> {
    let mut total = 0;
    let mut seen = ClientSet::default();
    // Per client: client id and range count, at least two bytes.
    let clients = r.count(2)?;
    for _ in 0..clients {
        let client = r.var_js()?;
        if rules == Rules::Text && !seen.insert(client) {
            return Err(malformed("a client appears twice in one delete set"));
        }
        // Per range: clock and length, at least two bytes.
        let ranges = r.count(2)?;
        total += ranges;
        for _ in 0..ranges {
            let clock = r.var_u32()?;
            let len = r.var_u32()?;
            // yrs computes `clock + len` in u32; an overflow would panic in debug builds.
            if clock.checked_add(len).is_none() {
                return Err(malformed("delete range overflows"));
            }
            if rules == Rules::Text {
                positive(len, "a deleted range of length 0")?;
            }
        }
    }
    Ok(total)
}

/// Decodes a v1 state vector without reserving memory up front and without handing yrs a
/// client id it would assert on. Bytes after the last entry are ignored, as yrs does.
pub fn decode_state_vector_v1(bytes: &[u8]) -> Result<StateVector, DecodeError> {
    let mut r = Reader::new(bytes);
    // Per entry: client id and clock, at least two bytes.
    let len = r
        .count(2)
        .map_err(|_| DecodeError::MalformedStateVector("entry count out of bounds"))?;
    let mut sv = StateVector::default();
    for _ in 0..len {
        let client = r
            .var_js()
            .map_err(|_| DecodeError::MalformedStateVector("bad client id"))?;
        let clock = r
            .var_u32()
            .map_err(|_| DecodeError::MalformedStateVector("bad clock"))?;
        sv.set_max(ClientID::new(client), clock);
    }
    Ok(sv)
}

//! Structural checks of client-supplied Yjs v1 data *before* yrs decodes it.
//!
//! yrs 0.28 decodes updates with `try_reserve(declared_count)`: a count that does not fit in
//! memory is an error, but one that does fit is reserved (and, for hash maps, its control bytes
//! are written) before a single element is read. Measured here: a 5-byte update declaring 2^27
//! clients made yrs touch ~260 MB. Nested `Any` values are also decoded recursively without a
//! depth limit, so a frame of `[117, 1, 117, 1, ...]` would overflow the stack, which aborts
//! the process (no `catch_unwind` can help). See y-crdt/y-crdt PR #639 and issue #415 for the
//! upstream history of these allocation bombs.
//!
//! This module walks the v1 update layout exactly as yrs reads it (`Update::decode`,
//! `Update::decode_block`, `ItemContent::decode`, `Any::decode`, `IdSet::decode` in yrs 0.28.1)
//! without allocating, and rejects: counts larger than the remaining bytes could hold, client
//! ids above 2^53 (yrs debug-asserts on them and silently truncates them in release), and
//! `Any` nesting deeper than [`MAX_ANY_DEPTH`], and legacy JSON content, which yrs cannot
//! re-encode faithfully (see `check_content`). Anything it accepts is still decoded by yrs,
//! which remains the authority on validity; this pass only removes the cliffs. (So strings are
//! skipped, not checked for UTF-8: yrs's `read_string` checks them and errors, it does not panic.)

use super::lib0::Reader;
use super::DecodeError;
use yrs::{ClientID, StateVector};

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

/// Checks that `bytes` is structurally a Yjs v1 update that yrs can decode without a
/// memory or stack cliff. Bytes after the delete set are ignored, as yrs and Yjs do.
pub fn check_update_v1(bytes: &[u8]) -> Result<(), DecodeError> {
    update_v1_len(bytes).map(|_| ())
}

/// Like [`check_update_v1`], and returns how many bytes the update occupies. A stored
/// snapshot must occupy all of its bytes: a v2 snapshot read as v1 would otherwise pass as a
/// nearly empty document (v2 starts with a zero byte, which v1 reads as "no clients").
pub fn update_v1_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    scan_update_v1(bytes).map(|scanned| scanned.len)
}

/// What [`scan_update_v1`] learnt of an update it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// Bytes the update occupies (see [`update_v1_len`]).
    pub len: usize,
    /// It holds no block and no deleted range, so applying it changes nothing (a client with
    /// nothing new answers the server's step 1 with such an update).
    pub empty: bool,
}

/// [`check_update_v1`], also telling how long the update is and whether it carries anything.
pub(crate) fn scan_update_v1(bytes: &[u8]) -> Result<Scanned, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut empty = true;
    // Per client: block count, client id, first clock: at least three bytes.
    let clients = r.count(3)?;
    for _ in 0..clients {
        // Every block is at least two bytes (GC/skip: info + length).
        let blocks = r.count(2)?;
        empty &= blocks == 0;
        r.var_js()?;
        r.var_u32()?;
        for _ in 0..blocks {
            check_block(&mut r)?;
        }
    }
    empty &= check_delete_set(&mut r)? == 0;
    Ok(Scanned {
        len: bytes.len() - r.remaining(),
        empty,
    })
}

fn check_id(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    r.var_js()?;
    r.var_u32()?;
    Ok(())
}

fn check_block(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let info = r.u8()?;
    // yrs matches the whole info byte against the GC and skip numbers (not just the low bits).
    if info == BLOCK_GC || info == BLOCK_SKIP {
        r.var_u32()?;
        return Ok(());
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
    check_content(r, info & 0b1111)
}

fn check_content(r: &mut Reader<'_>, content: u8) -> Result<(), DecodeError> {
    match content {
        CONTENT_DELETED => {
            r.var_u32()?;
        }
        CONTENT_JSON => {
            // Legacy `ContentJSON` (no current Yjs creates it) does not round-trip in yrs
            // 0.28.1: `ItemContent::decode` reads `len + 1` strings, `encode` writes `len`.
            // One such item makes every later encoding of the document undecodable (found by
            // fuzzing: `encode_state_as_update_v1` then panics in `merge_pending_v1`, and a
            // snapshot would no longer load). So it is refused at the door.
            return Err(malformed("legacy JSON content is not supported"));
        }
        // Strings are skipped too: yrs checks their UTF-8 itself and errors, it does not panic.
        CONTENT_BINARY | CONTENT_STRING | CONTENT_EMBED => {
            r.skip_buf()?;
        }
        CONTENT_FORMAT => {
            r.skip_buf()?;
            r.skip_buf()?;
        }
        CONTENT_TYPE => match r.u8()? {
            TYPE_XML_ELEMENT => {
                r.skip_buf()?;
            }
            0..=6 | 9 | 15 => {}
            _ => return Err(malformed("unknown type reference")),
        },
        CONTENT_ANY => {
            let len = r.count(1)?;
            for _ in 0..len {
                check_any(r, 0)?;
            }
        }
        CONTENT_DOC => {
            r.skip_buf()?;
            check_any(r, 0)?;
        }
        _ => return Err(malformed("unknown content reference")),
    }
    Ok(())
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

/// Returns how many ranges the delete set holds.
fn check_delete_set(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let mut total = 0;
    // Per client: client id and range count, at least two bytes.
    let clients = r.count(2)?;
    for _ in 0..clients {
        r.var_js()?;
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

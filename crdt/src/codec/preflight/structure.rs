//! The walk of one block under [`Rules::Structure`](super::Rules::Structure): its origins or
//! parent, its content and the `Any` values in it, exactly as yrs reads them, without
//! allocating.

use super::{
    malformed, Walked, BLOCK_GC, BLOCK_SKIP, CONTENT_ANY, CONTENT_BINARY, CONTENT_DELETED,
    CONTENT_DOC, CONTENT_EMBED, CONTENT_FORMAT, CONTENT_JSON, CONTENT_STRING, CONTENT_TYPE,
    HAS_ORIGIN, HAS_PARENT_SUB, HAS_RIGHT_ORIGIN, MAX_ANY_DEPTH, TYPE_XML_ELEMENT,
};
use crate::codec::lib0::Reader;
use crate::codec::DecodeError;

fn check_id(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    r.var_js()?;
    r.var_u32()?;
    Ok(())
}

/// Walks one block as yrs reads it. Its length in clock ticks is an upper bound for strings,
/// which count UTF-16 units: their byte length.
pub(super) fn check_block(r: &mut Reader<'_>) -> Result<Walked, DecodeError> {
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

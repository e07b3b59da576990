//! The room's schema ([`Rules::Text`](super::Rules::Text), every update a client sends): the
//! walk of one block of a client update. A room's document is
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

use super::{
    malformed, Walked, BLOCK_GC, BLOCK_SKIP, CONTENT_DELETED, CONTENT_STRING, HAS_ORIGIN,
    HAS_RIGHT_ORIGIN,
};
use crate::codec::lib0::Reader;
use crate::codec::DecodeError;
use crate::room::TEXT_NAME;

/// The one root a client may write to, as the bytes of its name.
const TEXT_ROOT: &[u8] = TEXT_NAME.as_bytes();

/// Walks one block of a client update under [`Rules::Text`](super::Rules::Text). `at` is the block's own id. A
/// text client writes skip blocks (of missing ranges, when it passes on updates it holds
/// pending), and items of the `colabspace` text holding a string or deleted content: exactly
/// what is accepted. GC blocks are refused: deleted text stays an item with deleted content in
/// Yjs and yrs alike (only the children of a deleted nested type become GC blocks), and Yjs
/// drops an item whose origin is a GC block where yrs shows it.
pub(super) fn check_text_block(r: &mut Reader<'_>, at: (u64, u32)) -> Result<Walked, DecodeError> {
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
pub(super) fn positive(len: u32, what: &'static str) -> Result<u32, DecodeError> {
    if len == 0 {
        Err(malformed(what))
    } else {
        Ok(len)
    }
}

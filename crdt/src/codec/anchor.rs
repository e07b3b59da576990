//! The anchor of a chat message: the passage of the room's text a comment is about, as two Yjs
//! relative positions (`Y.encodeRelativePosition`, base64) and the quoted text
//! (`docs/protocol.md`, "Anchored comments"). A relative position names an item of the text,
//! not an index, so the passage is found again after edits around it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{IndexScope, StateVector, StickyIndex};

use super::lib0::Reader;
use super::ChatRejection;
use crate::guard;
use crate::room::TEXT_NAME;

/// Longest quote, in Unicode scalar values.
pub const MAX_QUOTE_CHARS: usize = 300;
/// Longest base64 text of one position. A position at an item takes at most 15 bytes (20
/// base64 characters); one at the end of the text names the root, 13 bytes.
pub const MAX_POSITION_CHARS: usize = 64;

/// lib0 `writeVarInt` of the two associations Yjs writes: 0 (the position sticks to the item
/// after it) and -1 (to the item before it).
const ASSOC_AFTER: u8 = 0x00;
const ASSOC_BEFORE: u8 = 0x41;

/// The anchor as it travels in chat JSON: in a `send` and in every message object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatAnchor {
    /// Where the passage starts: an encoded Yjs relative position, base64.
    pub start: String,
    /// Where it ends, the same way.
    pub end: String,
    /// The passage's text when the comment was written (1 to [`MAX_QUOTE_CHARS`] characters).
    pub quote: String,
}

/// An anchor whose positions decoded: the bytes to store, and the positions to check against
/// the room's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedAnchor {
    /// The start position's bytes.
    pub start: Vec<u8>,
    /// The end position's bytes.
    pub end: Vec<u8>,
    /// The quote.
    pub quote: String,
    positions: [StickyIndex; 2],
}

impl ChatAnchor {
    /// The anchor of a stored message.
    pub fn from_stored(start: &[u8], end: &[u8], quote: &str) -> Self {
        ChatAnchor {
            start: STANDARD.encode(start),
            end: STANDARD.encode(end),
            quote: quote.to_owned(),
        }
    }

    /// Checks the anchor of a `send`: a quote of 1 to [`MAX_QUOTE_CHARS`] characters and two
    /// positions in the room's text ([`decode_position`]). Anything else is
    /// [`ChatRejection::InvalidAnchor`].
    pub fn decode(&self) -> Result<DecodedAnchor, ChatRejection> {
        if self.quote.is_empty() || self.quote.chars().nth(MAX_QUOTE_CHARS).is_some() {
            return Err(ChatRejection::InvalidAnchor);
        }
        let (start, first) = decode_position(&self.start)?;
        let (end, second) = decode_position(&self.end)?;
        Ok(DecodedAnchor {
            start,
            end,
            quote: self.quote.clone(),
            positions: [first, second],
        })
    }
}

impl DecodedAnchor {
    /// True when the document whose state vector is `clocks` holds both positions: a position
    /// at the end of the text names the text itself; any other names one of its items, which
    /// must have been integrated (a room's document holds nothing but its text, so every item
    /// is one of the text's).
    pub fn is_within(&self, clocks: &StateVector) -> bool {
        self.positions
            .iter()
            .all(|position| match position.scope() {
                IndexScope::Relative(id) => clocks.get(&id.client) > id.clock,
                IndexScope::Root(name) => name.as_ref() == TEXT_NAME,
                IndexScope::Nested(_) => false,
            })
    }
}

/// Decodes one base64 position: standard alphabet with canonical padding, at most
/// [`MAX_POSITION_CHARS`] characters, holding exactly what `Y.encodeRelativePosition` writes for
/// a position in the text: an item id (client below 2^53, clock below 2^32) or the text's root
/// name `colabspace`, then the association 0 or -1. The layout is checked here before yrs
/// decodes it (yrs asserts, in debug builds, that a client id fits 53 bits), and yrs must
/// encode what it decoded to the same bytes.
fn decode_position(text: &str) -> Result<(Vec<u8>, StickyIndex), ChatRejection> {
    let invalid = ChatRejection::InvalidAnchor;
    if text.len() > MAX_POSITION_CHARS {
        return Err(invalid);
    }
    let bytes = STANDARD.decode(text).map_err(|_| invalid)?;
    check_layout(&bytes).ok_or(invalid)?;
    let position = guard::catch(|| StickyIndex::decode_v1(&bytes))
        .ok()
        .and_then(Result::ok)
        .ok_or(invalid)?;
    if position.encode_v1() != bytes {
        return Err(invalid);
    }
    Ok((bytes, position))
}

/// `Some` when `bytes` are laid out as a relative position of the room's text.
fn check_layout(bytes: &[u8]) -> Option<()> {
    let mut r = Reader::new(bytes);
    match r.var_u64().ok()? {
        0 => {
            r.var_js().ok()?;
            r.var_u32().ok()?;
        }
        1 if r.string().ok()? == TEXT_NAME => {}
        _ => return None,
    }
    matches!(r.u8().ok()?, ASSOC_AFTER | ASSOC_BEFORE).then_some(())?;
    r.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Assoc, Doc, IndexedSequence, ReadTxn, Text, Transact};

    fn encoded(position: &StickyIndex) -> String {
        STANDARD.encode(position.encode_v1())
    }

    fn anchor(start: String, end: String) -> ChatAnchor {
        ChatAnchor {
            start,
            end,
            quote: "lo w".into(),
        }
    }

    #[test]
    fn positions_of_the_text_decode_and_are_found_in_a_document_holding_them() {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text(TEXT_NAME);
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "hello world");
        let start = text.sticky_index(&txn, 3, Assoc::After).unwrap();
        let end = text.sticky_index(&txn, 7, Assoc::Before).unwrap();
        let at_end = StickyIndex::from_type(&txn, &text, Assoc::After);
        let decoded = anchor(encoded(&start), encoded(&end)).decode().unwrap();
        assert!(decoded.is_within(&txn.state_vector()));
        assert!(
            !decoded.is_within(&StateVector::default()),
            "a room without those items"
        );
        let root = anchor(encoded(&at_end), encoded(&end)).decode().unwrap();
        assert!(matches!(root.positions[0].scope(), IndexScope::Root(_)));
        assert!(root.is_within(&txn.state_vector()));
        let stored = ChatAnchor::from_stored(&decoded.start, &decoded.end, &decoded.quote);
        assert_eq!(stored, anchor(encoded(&start), encoded(&end)));
    }

    #[test]
    fn what_yjs_writes_decodes() {
        // `Y.encodeRelativePosition` + lib0 `toBase64` (yjs 13.6) in a document of client
        // 1234567 holding "The quick brown fox": index 4 with association 0, index 9 with -1,
        // and the end of the text, which Yjs names by the root.
        let yjs = ChatAnchor {
            start: "AIetSwQA".into(),
            end: "AIetSwhB".into(),
            quote: "quick".into(),
        };
        let decoded = yjs.decode().unwrap();
        let item = |position: &StickyIndex| position.id().map(|id| (id.client.get(), id.clock));
        assert_eq!(item(&decoded.positions[0]), Some((1234567, 4)));
        assert_eq!(decoded.positions[0].assoc, Assoc::After);
        assert_eq!(item(&decoded.positions[1]), Some((1234567, 8)));
        assert_eq!(decoded.positions[1].assoc, Assoc::Before);
        let end = ChatAnchor {
            start: "AQpjb2xhYnNwYWNlAA==".into(),
            ..yjs
        };
        assert!(end.decode().unwrap().positions[0].is_root());
    }

    #[test]
    fn anything_else_is_an_invalid_anchor() {
        let item = STANDARD.encode([0, 7, 3, 0]);
        let bad = [
            String::new(),
            "not base64!".into(),
            STANDARD.encode([0, 7, 3]),                   // no association
            STANDARD.encode([0, 7, 3, 0, 0]),             // a byte after it
            STANDARD.encode([0, 7, 3, 1]),                // association 1: Yjs writes 0 or -1
            STANDARD.encode([0, 0x87, 0, 3, 0]),          // a varint that is not the shortest
            STANDARD.encode([2, 7, 3, 0]),                // a nested type: the room has none
            STANDARD.encode([1, 3, b'a', b'b', b'c', 0]), // another root
            STANDARD.encode([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10, 3, 0]), // 2^53
            STANDARD.encode([0, 7, 0x80, 0x80, 0x80, 0x80, 0x10, 0]), // clock 2^32
            STANDARD.encode([9; 60]),
            "AAcDAA".into(), // no padding
        ];
        for start in bad {
            assert_eq!(
                anchor(start.clone(), item.clone()).decode(),
                Err(ChatRejection::InvalidAnchor),
                "{start:?}"
            );
        }
        let mut quote = anchor(item.clone(), item.clone());
        assert!(quote.decode().is_ok());
        quote.quote = String::new();
        assert!(quote.decode().is_err(), "an empty quote");
        quote.quote = "é".repeat(MAX_QUOTE_CHARS);
        assert!(quote.decode().is_ok());
        quote.quote.push('x');
        assert!(quote.decode().is_err(), "a quote too long");
    }
}

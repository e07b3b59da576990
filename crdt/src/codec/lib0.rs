//! Minimal lib0 (v1) primitives: a bounds-checked reader and a writer.
//!
//! Every read checks the remaining input before it touches it, so a declared length that is
//! larger than what is left becomes an error before anything is allocated. Variable-length
//! integers follow lib0's `writeVarUint`: 7 bits per byte, least significant group first.

use super::DecodeError;

/// Largest integer a JavaScript peer can represent exactly (`Number.MAX_SAFE_INTEGER`).
/// lib0's own decoder throws above it, and Yjs client ids live below it, so anything larger
/// cannot have come from a stock client.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A varUint never needs more than 10 bytes for a `u64`; anything longer is malformed.
const MAX_VAR_BYTES: usize = 10;

/// A cursor over client bytes. Never panics: every accessor returns `Result`.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Errors unless the whole input was consumed: one protocol message per frame.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let byte = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    /// Takes the next `len` bytes without copying them.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(DecodeError::LengthOutOfBounds {
                declared: len as u64,
                remaining: self.remaining(),
            });
        }
        let end = self.pos + len;
        let slice = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// Skips `len` bytes (fixed-size numbers inside an update).
    pub fn skip(&mut self, len: usize) -> Result<(), DecodeError> {
        self.bytes(len).map(|_| ())
    }

    /// Reads a varUint of up to 64 bits; overlong or overflowing encodings are errors.
    #[inline]
    pub fn var_u64(&mut self) -> Result<u64, DecodeError> {
        // Most numbers in an update (counts, content types, short lengths) take one byte.
        match self.buf.get(self.pos) {
            Some(&byte) if byte < 0x80 => {
                self.pos += 1;
                Ok(u64::from(byte))
            }
            _ => self.var_u64_long(),
        }
    }

    fn var_u64_long(&mut self) -> Result<u64, DecodeError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        // Client ids (53 bits, 8 bytes) are in every update: with 8 bytes at hand, a number of up
        // to 8 bytes is found and unpacked in one word instead of byte by byte.
        if let Some(word) = rest.first_chunk::<8>() {
            if let Some((value, len)) = var_u56_in_word(u64::from_le_bytes(*word)) {
                self.pos += len;
                return Ok(value);
            }
        }
        let mut value: u64 = 0;
        for (i, &byte) in rest.iter().take(MAX_VAR_BYTES).enumerate() {
            let group = u64::from(byte & 0x7f);
            let shift = 7 * i as u32;
            // The tenth byte may only carry the single remaining bit of a u64.
            if shift == 63 && group > 1 {
                return Err(DecodeError::InvalidVarInt);
            }
            value |= group << shift;
            if byte & 0x80 == 0 {
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(if rest.len() < MAX_VAR_BYTES {
            DecodeError::Truncated
        } else {
            DecodeError::InvalidVarInt
        })
    }

    /// Reads a varUint that must fit a `u32` (clocks, counts and lengths inside updates).
    pub fn var_u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.var_u64()?).map_err(|_| DecodeError::InvalidVarInt)
    }

    /// Reads a varUint that must be exactly representable in JavaScript (client ids).
    pub fn var_js(&mut self) -> Result<u64, DecodeError> {
        let value = self.var_u64()?;
        if value > MAX_SAFE_INTEGER {
            return Err(DecodeError::InvalidVarInt);
        }
        Ok(value)
    }

    /// Skips a lib0 signed varInt (sign in bit 6 of the first byte) without decoding it.
    pub fn skip_var_i64(&mut self) -> Result<(), DecodeError> {
        for _ in 0..MAX_VAR_BYTES {
            if self.u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(DecodeError::InvalidVarInt)
    }

    /// Reads a count of items that each take at least `min_item_bytes` bytes, and rejects it
    /// when the rest of the input could not possibly hold that many. This is what keeps a
    /// five-byte frame from making a decoder reserve memory for 2^32 entries.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let declared = self.var_u64()?;
        // `declared * min <= remaining`, without a division (this runs for every list).
        let needed = declared.checked_mul(min_item_bytes.max(1) as u64);
        match (usize::try_from(declared), needed) {
            (Ok(n), Some(needed)) if needed <= self.remaining() as u64 => Ok(n),
            _ => Err(DecodeError::LengthOutOfBounds {
                declared,
                remaining: self.remaining(),
            }),
        }
    }

    /// Reads a lib0 `varUint8Array`: a varUint length, then that many bytes.
    pub fn buf(&mut self) -> Result<&'a [u8], DecodeError> {
        let declared = self.var_u64()?;
        let len = usize::try_from(declared).map_err(|_| DecodeError::LengthOutOfBounds {
            declared,
            remaining: self.remaining(),
        })?;
        self.bytes(len)
    }

    /// Skips a lib0 `varUint8Array` (or a `varString`, without checking its UTF-8).
    #[inline]
    pub fn skip_buf(&mut self) -> Result<(), DecodeError> {
        self.buf().map(|_| ())
    }

    /// Reads a lib0 `varString`: a `varUint8Array` holding UTF-8.
    pub fn string(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.buf()?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

/// Appends lib0 primitives to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Writes a varUint.
    pub fn var_u64(&mut self, mut value: u64) -> &mut Self {
        while value >= 0x80 {
            self.buf.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
        self
    }

    /// Writes a length-prefixed byte array.
    pub fn buf(&mut self, bytes: &[u8]) -> &mut Self {
        self.var_u64(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Writes `bytes` as they are.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Writes a length-prefixed UTF-8 string.
    pub fn string(&mut self, text: &str) -> &mut Self {
        self.buf(text.as_bytes())
    }

    /// The bytes written so far.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

/// The varUint at the start of `word` (eight input bytes, little-endian) and its length in
/// bytes, when it ends within them; `None` when all eight bytes have the continuation bit.
fn var_u56_in_word(word: u64) -> Option<(u64, usize)> {
    let ends = !word & 0x8080_8080_8080_8080;
    if ends == 0 {
        return None;
    }
    let len = ends.trailing_zeros() as usize / 8 + 1;
    let bytes = if len == 8 {
        word
    } else {
        word & ((1 << (8 * len)) - 1)
    };
    // Drop the continuation bits, then close the gaps: 7-bit groups into 14-, 28-, 56-bit ones.
    let x = bytes & 0x7f7f_7f7f_7f7f_7f7f;
    let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
    Some((x, len))
}

/// Number of bytes `value` takes as a varUint, to size buffers exactly.
pub fn var_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_u64_reads_back_with_its_length_whatever_follows(
            random: u64,
            shift in 0u32..64,
            after in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            // Shifted, so that every length from 1 to 10 bytes comes up.
            let value = random >> shift;
            let mut w = Writer::with_capacity(16);
            w.var_u64(value);
            let mut bytes = w.into_vec();
            let len = bytes.len();
            prop_assert_eq!(len, var_len(value));
            bytes.extend(after);
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.var_u64(), Ok(value));
            prop_assert_eq!(r.position(), len);
        }
    }
}

//! State vectors from clients.

use crate::codec::lib0::Reader;
use crate::codec::DecodeError;
use yrs::{ClientID, StateVector};

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

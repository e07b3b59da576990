//! The delete set at the end of an update.

use super::spans::ClientSet;
use super::text::positive;
use super::{malformed, Rules};
use crate::codec::lib0::Reader;
use crate::codec::DecodeError;

/// Returns how many ranges the delete set holds. Under [`Rules::Text`] a client may appear
/// once (yrs would keep one of its lists, Yjs applies both) and a range covers something.
pub(super) fn check_delete_set(r: &mut Reader<'_>, rules: Rules) -> Result<usize, DecodeError> {
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

//! Awareness updates (y-protocols `encodeAwarenessUpdate` / `applyAwarenessUpdate` layout).
//!
//! Layout: varUint entry count, then per entry: varUint client id, varUint clock, varString
//! JSON state, where the JSON text `null` means "this client is gone". The decoder is our own
//! rather than yrs's `AwarenessUpdate::decode`, which reserves a hash map sized by the declared
//! count before reading anything and keeps no per-state size limit.

use super::lib0::{Reader, Writer, MAX_SAFE_INTEGER};
use super::{DecodeError, Limits};
use serde::de::IgnoredAny;
use yrs::ClientID;

/// One client's entry in an awareness update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessEntry {
    /// The Yjs client id (`doc.clientID`) the state belongs to; below 2^53.
    pub client_id: ClientID,
    /// Logical clock: a state replaces a known one only when its clock is higher.
    pub clock: u64,
    /// The state as JSON text, or `None` for a JSON `null` (the client left).
    pub state: Option<String>,
}

impl AwarenessEntry {
    /// The JSON text this entry carries on the wire (`null` for a removed state).
    pub fn json(&self) -> &str {
        self.state.as_deref().unwrap_or("null")
    }
}

/// A decoded awareness update: a list of per-client entries, in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwarenessUpdate {
    /// The entries, in the order they appear on the wire.
    pub entries: Vec<AwarenessEntry>,
}

impl AwarenessUpdate {
    /// Decodes an awareness update, enforcing `limits.max_awareness_state_bytes` per state and
    /// checking that every state is well-formed JSON (y-protocols `JSON.parse`s each one, so a
    /// malformed state would throw in every stock client it was relayed to).
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        // Per entry: client id, clock and string length take at least three bytes.
        let len = r.count(3)?;
        // Grow with the entries actually read rather than trusting the declared count.
        let mut entries = Vec::with_capacity(len.min(64));
        for _ in 0..len {
            let client = r.var_js()?;
            let clock = r.var_js()?;
            let json = r.string()?;
            if json.len() > limits.max_awareness_state_bytes {
                return Err(DecodeError::AwarenessStateTooLarge {
                    client_id: client,
                    len: json.len(),
                    max: limits.max_awareness_state_bytes,
                });
            }
            serde_json::from_str::<IgnoredAny>(json)
                .map_err(|e| DecodeError::MalformedAwareness(e.to_string()))?;
            let state = (json.trim() != "null").then(|| json.to_owned());
            entries.push(AwarenessEntry {
                client_id: ClientID::new(client),
                clock,
                state,
            });
        }
        // Inside the buf, extra bytes mean the encoder and decoder disagree: reject.
        r.finish()?;
        Ok(AwarenessUpdate { entries })
    }

    /// Encodes the update in the y-protocols layout.
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.entries.iter().map(|e| e.json().len() + 12).sum();
        let mut w = Writer::with_capacity(size + 4);
        w.var_u64(self.entries.len() as u64);
        for entry in &self.entries {
            w.var_u64(entry.client_id.get())
                .var_u64(entry.clock.min(MAX_SAFE_INTEGER))
                .string(entry.json());
        }
        w.into_vec()
    }
}

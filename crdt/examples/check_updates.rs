//! The server's verdict on client updates, for the differential check against stock Yjs
//! (`tests/interop/differential.test.mjs`).
//!
//! Reads lines of hex Yjs v1 updates separated by single spaces from stdin: all but the last are the
//! room's base (sent by a client, so they must pass too), the last is the update to judge. For
//! each line it prints one JSON object: `{"verdict":"refuse","stage":..,"reason":..}` when the
//! server would close the sender with 4400, else `{"verdict":"accept",...}` with the room's
//! text, its whole state (hex, what a joiner's sync step 2 carries), the text of the stored
//! log replayed, and the text of each snapshot format reloaded (or why none is stored).
//!
//! ```sh
//! echo "<base hex> <update hex>" | cargo run -q -p chatspace-crdt --example check_updates
//! ```

use chatspace_crdt::{encode_snapshot, IncomingUpdate, RoomDoc, SnapshotFormat};
use serde_json::{json, Value};
use std::io::{self, BufRead, BufWriter, Write};

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        // Every line gets an answer: an empty one is an empty update.
        let line = line?;
        let verdict = match parse(&line) {
            Ok(updates) => judge(&updates),
            Err(reason) => json!({ "verdict": "error", "reason": reason }),
        };
        writeln!(out, "{verdict}")?;
        // One answer per line as it comes: the test may interleave writes and reads.
        out.flush()?;
    }
    Ok(())
}

/// Fields are separated by one space each; an empty field is an empty update.
fn parse(line: &str) -> Result<Vec<Vec<u8>>, String> {
    line.trim_end_matches('\r')
        .split(' ')
        .map(from_hex)
        .collect()
}

fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err(format!("odd hex length {}", text.len()));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn refuse(stage: &str, reason: impl ToString) -> Value {
    json!({ "verdict": "refuse", "stage": stage, "reason": reason.to_string() })
}

/// What the server does with `updates` sent in order by one client to a new room, reported
/// for the last one.
fn judge(updates: &[Vec<u8>]) -> Value {
    let Some((update, base)) = updates.split_last() else {
        return json!({ "verdict": "error", "reason": "empty line" });
    };
    let mut room = RoomDoc::new();
    for (i, bytes) in base.iter().enumerate() {
        if let Err((stage, error)) = send(&mut room, bytes) {
            return json!({ "verdict": "error", "reason": format!("base update {i} refused at {stage}: {error}") });
        }
    }
    if let Err((stage, reason)) = send(&mut room, update) {
        return refuse(stage, reason);
    }
    let text = room.text();
    let state = match room.encode_state_as_update_v1() {
        Ok(state) => to_hex(&state),
        Err(error) => return refuse("encode", error),
    };
    // What the room stored is the log of the updates it accepted, as sent.
    let replayed = match RoomDoc::load(None, updates) {
        Ok(loaded) => Value::from(loaded.text()),
        Err(error) => Value::from(format!("log does not load: {error}")),
    };
    let snapshots: serde_json::Map<String, Value> = [SnapshotFormat::V1, SnapshotFormat::V2]
        .into_iter()
        .map(|format| {
            let reloaded = encode_snapshot(&room, format)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    RoomDoc::load(Some((&bytes, format)), std::iter::empty::<&[u8]>())
                        .map_err(|e| e.to_string())
                });
            let value = match reloaded {
                Ok(loaded) => json!({ "text": loaded.text() }),
                Err(refused) => json!({ "refused": refused }),
            };
            (format!("{format:?}"), value)
        })
        .collect();
    json!({
        "verdict": "accept",
        "text": text,
        "state": state,
        "replayed": replayed,
        "snapshots": snapshots,
        "pending": room.has_missing_updates(),
    })
}

/// Checks and applies one client update as the room does; on refusal, at which stage.
fn send(room: &mut RoomDoc, bytes: &[u8]) -> Result<(), (&'static str, String)> {
    let update = IncomingUpdate::check_v1(bytes.to_vec()).map_err(|e| ("check", e.to_string()))?;
    if update.is_empty() {
        // The server drops an update that carries nothing before applying it.
        return Ok(());
    }
    room.apply_update(update)
        .map(|_| ())
        .map_err(|e| ("apply", e.to_string()))
}

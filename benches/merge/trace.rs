//! Editing traces for the merge bench: the sequential traces of josephg/editing-traces (kept in
//! `../shared/traces`, never copied into this repository), or a generated stand-in when they are
//! not there.
//!
//! Trace files are gzip'd JSON: `{ "startContent": "", "endContent": "...", "txns": [ { "patches":
//! [[pos, delCount, insText], ...] }, ... ] }`, where a patch means `Array.splice` and positions
//! count Unicode code points, not UTF-16 units or bytes.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde::Deserialize;

/// The trace used when neither environment variable names another.
const DEFAULT_TRACE: &str = "sequential/automerge-paper.json.gz";
/// Where the traces live, relative to the repository root.
const DEFAULT_TRACES_DIR: &str = "../shared/traces";
/// Edits in the generated stand-in trace (the default trace has 259,778).
const GENERATED_EDITS: usize = 200_000;

/// One splice: at `pos` remove `del` characters, then insert `ins`. Positions and lengths are
/// given twice: in Unicode code points (the trace's unit, and automerge's default) and in UTF-8
/// bytes (the unit of yrs 0.28's default `OffsetKind::Bytes`, which is what ChatSpace uses).
#[derive(Debug, Clone)]
pub struct Patch {
    pub pos: usize,
    pub del: usize,
    pub ins: String,
    pub byte_pos: u32,
    pub byte_del: u32,
}

/// One user transaction of the trace: one or more patches applied together, in order.
#[derive(Debug, Clone)]
pub struct Txn {
    pub patches: Vec<Patch>,
}

/// Where the edits came from.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    /// The deterministic stand-in of [`generate`].
    Generated,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Generated => write!(
                f,
                "generated: {GENERATED_EDITS} pseudo-random single-character edits (seeded, no trace file)"
            ),
        }
    }
}

/// A linear editing history and the text it must end with.
#[derive(Debug, Clone)]
pub struct Trace {
    pub source: Source,
    pub txns: Vec<Txn>,
    pub end_content: String,
}

impl Trace {
    /// Short name for tables: the file name without `.json.gz`, or `generated`.
    pub fn name(&self) -> String {
        match &self.source {
            Source::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().trim_end_matches(".json.gz").to_owned())
                .unwrap_or_else(|| path.display().to_string()),
            Source::Generated => "generated".to_owned(),
        }
    }

    pub fn patch_count(&self) -> usize {
        self.txns.iter().map(|t| t.patches.len()).sum()
    }

    /// Length of the expected final text in Unicode code points.
    pub fn end_chars(&self) -> usize {
        self.end_content.chars().count()
    }

    /// The first `n` transactions as a trace of their own, with the text they end with.
    pub fn prefix(&self, n: usize) -> Trace {
        let txns = self.txns[..n.min(self.txns.len())].to_vec();
        let end_content = replay(&txns);
        Trace {
            source: self.source.clone(),
            txns,
            end_content,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TraceFile {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    start_content: String,
    end_content: String,
    txns: Vec<TxnFile>,
}

#[derive(Deserialize)]
struct TxnFile {
    patches: Vec<(usize, usize, String)>,
}

/// Picks the trace as documented in `docs/benchmarks.md`:
/// - `CHATSPACE_TRACE=<file>`: that file (a relative path is taken from the repository root,
///   then from the traces directory); `CHATSPACE_TRACE=generated`: the generated trace;
/// - otherwise `<traces dir>/sequential/automerge-paper.json.gz`, where the traces directory is
///   `CHATSPACE_TRACES` (relative to the repository root) or `../shared/traces`.
///
/// A file named explicitly must exist and load; when the default file is missing, a notice is
/// printed and the generated trace is used instead.
pub fn load_from_env() -> Trace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir =
        root.join(std::env::var("CHATSPACE_TRACES").unwrap_or_else(|_| DEFAULT_TRACES_DIR.into()));
    match std::env::var("CHATSPACE_TRACE") {
        Ok(name) if name == "generated" => generate(),
        Ok(name) => {
            let from_root = root.join(&name);
            let path = if from_root.exists() {
                from_root
            } else {
                dir.join(&name)
            };
            load_file(&path).unwrap_or_else(|e| {
                panic!(
                    "CHATSPACE_TRACE={name:?}: cannot use {}: {e}",
                    path.display()
                )
            })
        }
        Err(_) => {
            let path = dir.join(DEFAULT_TRACE);
            if path.exists() {
                load_file(&path)
                    .unwrap_or_else(|e| panic!("cannot use the trace {}: {e}", path.display()))
            } else {
                println!(
                    "NOTICE: no editing trace at {} (set CHATSPACE_TRACES to the traces folder or \
                     CHATSPACE_TRACE to a file); using a GENERATED trace instead, so the figures \
                     are not comparable with runs on the real trace.",
                    path.display()
                );
                generate()
            }
        }
    }
}

/// Reads and checks a sequential trace file.
pub fn load_file(path: &Path) -> Result<Trace, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut json = String::new();
    GzDecoder::new(BufReader::new(file))
        .read_to_string(&mut json)
        .map_err(|e| format!("not a gzip'd UTF-8 file: {e}"))?;
    let parsed: TraceFile =
        serde_json::from_str(&json).map_err(|e| format!("not a sequential trace: {e}"))?;
    if parsed.kind.as_deref() == Some("concurrent") {
        return Err("concurrent traces are not supported; use one from sequential/".into());
    }
    if !parsed.start_content.is_empty() {
        return Err("traces with a non-empty startContent are not supported".into());
    }
    let raw: Vec<Vec<(usize, usize, String)>> =
        parsed.txns.into_iter().map(|t| t.patches).collect();
    let (txns, replayed) = with_byte_offsets(raw)?;
    // The file's own checksum, checked on a plain string before any CRDT sees the edits.
    if replayed != parsed.end_content {
        return Err("replaying the patches does not give endContent".into());
    }
    Ok(Trace {
        source: Source::File(path.to_owned()),
        txns,
        end_content: parsed.end_content,
    })
}

/// Adds UTF-8 byte offsets to code-point patches by replaying them on a plain string; returns
/// the transactions and the text they end with.
fn with_byte_offsets(raw: Vec<Vec<(usize, usize, String)>>) -> Result<(Vec<Txn>, String), String> {
    let mut text = String::new();
    // Stays true while everything inserted so far was ASCII: then code points are bytes and no
    // walk over the text is needed (every default trace is ASCII).
    let mut ascii = true;
    let mut txns = Vec::with_capacity(raw.len());
    for (index, patches) in raw.into_iter().enumerate() {
        let mut out = Vec::with_capacity(patches.len());
        for (pos, del, ins) in patches {
            let start = byte_index(&text, pos, ascii)
                .ok_or_else(|| format!("txn {index}: position {pos} is past the end"))?;
            let end = start
                + byte_index(&text[start..], del, ascii)
                    .ok_or_else(|| format!("txn {index}: deletion past the end"))?;
            ascii &= ins.is_ascii();
            text.replace_range(start..end, &ins);
            let byte_pos = u32::try_from(start).map_err(|_| "text over 4 GiB".to_owned())?;
            let byte_del = u32::try_from(end - start).map_err(|_| "text over 4 GiB".to_owned())?;
            out.push(Patch {
                pos,
                del,
                ins,
                byte_pos,
                byte_del,
            });
        }
        txns.push(Txn { patches: out });
    }
    Ok((txns, text))
}

/// Byte index of the `chars`-th code point of `s` (`s.len()` for one past the end).
fn byte_index(s: &str, chars: usize, ascii: bool) -> Option<usize> {
    if ascii {
        return (chars <= s.len()).then_some(chars);
    }
    match s.char_indices().nth(chars) {
        Some((i, _)) => Some(i),
        None => (s.chars().count() == chars).then_some(s.len()),
    }
}

/// Applies the patches to a plain string (byte offsets) and returns the text.
pub fn replay(txns: &[Txn]) -> String {
    let mut text = String::new();
    for patch in txns.iter().flat_map(|t| &t.patches) {
        let start = patch.byte_pos as usize;
        text.replace_range(start..start + patch.byte_del as usize, &patch.ins);
    }
    text
}

/// A deterministic stand-in for a real trace: someone typing ASCII at a cursor, with
/// backspaces and occasional jumps elsewhere, one character per edit.
pub fn generate() -> Trace {
    const ALPHABET: &[u8] = b"etaoinshrdlucmfwypvbgkqjxz     ,.\n";
    let mut rng = SplitMix64(0x5eed_c4a7_5bac_e001);
    let mut text: Vec<u8> = Vec::new();
    let mut cursor = 0usize;
    let mut txns = Vec::with_capacity(GENERATED_EDITS);
    while txns.len() < GENERATED_EDITS {
        let roll = rng.below(100);
        if roll < 2 {
            cursor = rng.below(text.len() as u64 + 1) as usize;
            continue;
        }
        let patch = if roll < 17 && cursor > 0 {
            cursor -= 1;
            text.remove(cursor);
            (cursor, 1, String::new())
        } else {
            let ch = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
            text.insert(cursor, ch);
            cursor += 1;
            (cursor - 1, 0, char::from(ch).to_string())
        };
        txns.push(vec![patch]);
    }
    let (txns, end_content) =
        with_byte_offsets(txns).expect("generated patches stay inside the text");
    assert_eq!(
        end_content.as_bytes(),
        text,
        "generated trace replays to its own text"
    );
    Trace {
        source: Source::Generated,
        txns,
        end_content,
    }
}

/// Sebastiano Vigna's SplitMix64: tiny, seeded, good enough for test data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

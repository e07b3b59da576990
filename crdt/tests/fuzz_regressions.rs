//! Replays every input the fuzzers of `fuzz/` committed as a finding (`fuzz/findings/<target>/`)
//! and every seed (`fuzz/seeds/<target>/`) through the code of its target (see [`TARGETS`]):
//! what once crashed, hung or broke an invariant must now pass. The files are read from the repository at test
//! time, so a new finding needs no code here.

mod fuzz_harness;

use chatspace_crdt::codec::preflight::Rules;
use std::fs;
use std::path::{Path, PathBuf};

/// What each target runs (the targets in `fuzz/fuzz_targets` call the same).
fn room_apply(data: &[u8]) {
    fuzz_harness::run(fuzz_harness::text_base(), data, Rules::Text);
}

fn room_reload(data: &[u8]) {
    fuzz_harness::run_and_reload(fuzz_harness::text_base(), data, Rules::Text);
}

fn room_apply_old_rules(data: &[u8]) {
    fuzz_harness::run(fuzz_harness::rich_base(), data, Rules::Structure);
}

/// Per target: what replays its seeds, and what replays its findings. The findings of the old
/// rules are memory-safety bugs of yrs that only the rules before the room's schema let
/// through; replaying them under those rules would run undefined behaviour, so they are
/// replayed as a client sends them today, which must be safe.
type Replay = fn(&[u8]);
const TARGETS: &[(&str, &[Replay], &[Replay])] = &[
    ("frames", &[fuzz_harness::frames], &[fuzz_harness::frames]),
    ("room_apply", &[room_apply], &[room_apply]),
    ("room_reload", &[room_reload], &[room_reload]),
    (
        "room_apply_old_rules",
        &[room_apply_old_rules],
        &[room_apply, room_reload],
    ),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the folder does not exist).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let mut replayed = 0;
    for (target, seeds, findings) in TARGETS {
        let runs = if kind == "seeds" { seeds } else { findings };
        for file in inputs(kind, target) {
            let data = fs::read(&file).expect("a readable input");
            println!("{target}: {}", file.display());
            for run in *runs {
                run(&data);
            }
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn every_committed_finding_now_passes() {
    assert!(
        replay("findings") > 0,
        "no findings under {}",
        fuzz_dir().display()
    );
}

#[test]
fn every_seed_passes() {
    assert!(
        replay("seeds") > 0,
        "no seeds under {}",
        fuzz_dir().display()
    );
}

/// Seeds are written with [`fuzz_harness::join`]; its inverse must give them back.
#[test]
fn inputs_split_into_the_updates_they_were_joined_from() {
    let updates: [&[u8]; 3] = [b"abc", b"", &[0u8; 300]];
    assert_eq!(fuzz_harness::split(&fuzz_harness::join(&updates)), updates);
}

//! The apply-then-read path under the rules before the room's schema (`Rules::Structure`, what
//! stored data is still read with), on a room holding text, a map and an array: where yrs 0.28's
//! own bugs are reachable (a hang in conflict resolution, a crash reading the text).
#![no_main]

#[path = "../../crdt/tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

use chatspace_crdt::codec::preflight::Rules;

libfuzzer_sys::fuzz_target!(init: fuzz_harness::quiet_panics(), |data: &[u8]| {
    fuzz_harness::check(|| {
        fuzz_harness::run(fuzz_harness::rich_base(), data, Rules::Structure);
    });
});

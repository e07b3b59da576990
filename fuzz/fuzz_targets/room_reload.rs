//! Client updates applied to a room, then what it stores reloaded: the log of accepted updates
//! and any snapshot (both formats, and by offline compaction) must load to the live text.
#![no_main]

#[path = "../../crdt/tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

use chatspace_crdt::codec::preflight::Rules;

libfuzzer_sys::fuzz_target!(init: fuzz_harness::quiet_panics(), |data: &[u8]| {
    fuzz_harness::check(|| {
        fuzz_harness::run_and_reload(fuzz_harness::text_base(), data, Rules::Text);
    });
});

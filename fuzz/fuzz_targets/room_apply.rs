//! Client updates (the room's schema, `Rules::Text`) checked and applied in turn to a room
//! holding text, the text read after each: nothing panics past the guard, hangs or crashes, and
//! the room stays usable.
#![no_main]

#[path = "../../crdt/tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

use chatspace_crdt::codec::preflight::Rules;

libfuzzer_sys::fuzz_target!(init: fuzz_harness::quiet_panics(), |data: &[u8]| {
    fuzz_harness::check(|| {
        fuzz_harness::run(fuzz_harness::text_base(), data, Rules::Text);
    });
});

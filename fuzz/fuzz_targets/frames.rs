//! Every frame decoder of the socket protocol (client and server side: sync, awareness, chat,
//! state vectors) on arbitrary bytes, and yrs's decode of any update that passes the checks.
#![no_main]

#[path = "../../crdt/tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

libfuzzer_sys::fuzz_target!(init: fuzz_harness::quiet_panics(), |data: &[u8]| {
    fuzz_harness::check(|| fuzz_harness::frames(data));
});

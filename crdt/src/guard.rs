//! Containment of panics raised inside yrs.
//!
//! yrs has panicked on malformed or unusual input in the past (y-crdt/y-crdt issues #182,
//! #391, #404, #415; its own test `no_single_byte_corruption_aborts` in `update.rs` still runs
//! decode + apply under `catch_unwind`). A panic on the room task would take every client of
//! the room down, so every call into yrs with client-influenced data goes through [`catch`].
//!
//! This only works with `panic = "unwind"` (the default); a `panic = "abort"` profile would
//! turn each of these into a process exit. Aborts that are not panics (stack overflow, failed
//! allocation) cannot be caught at all; `codec::preflight` exists to keep them from happening.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into `Err(message)`.
///
/// `AssertUnwindSafe` is sound here because callers either only read through the captured
/// references, or mark the state they were mutating as poisoned when `Err` comes back and
/// never read it again.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

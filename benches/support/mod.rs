//! Helpers of the merge bench (`benches/merge.rs`): editing traces and the run's own summary.

pub mod summary;
pub mod trace;

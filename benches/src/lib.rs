//! pinwheel-benches.

pub mod mm;
pub mod report;

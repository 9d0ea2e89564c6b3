//! pinwheel-benches.

pub mod report;

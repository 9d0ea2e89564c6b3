//! pinwheel-benches.

pub mod feed;

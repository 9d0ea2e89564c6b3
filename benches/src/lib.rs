//! pinwheel-benches.

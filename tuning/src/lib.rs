//! pinwheel-tuning.

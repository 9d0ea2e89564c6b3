//! pinwheel-edge.

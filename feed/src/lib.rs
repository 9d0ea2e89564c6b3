//! pinwheel-feed.

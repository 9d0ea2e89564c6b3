//! pinwheel-engine: commands and events, order books, accounts, and the hot loop.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod config;
pub mod describe;
pub mod follower;
pub mod hot_loop;
pub mod message;
pub mod recovery;
pub mod shared_counters;

//! pinwheel-engine: commands and events, order books, accounts, and the hot loop.
//!
//! [`Engine`] owns every book and balance and is driven by [`Engine::apply`]; [`book`]
//! holds the order book that every market keeps;
//! [`sequencer`] is the engine's step (stamp, journal, apply, publish) and [`hot_loop`] the
//! engine process that runs it: rings in, journal, apply, ring out.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod accounts;
pub mod admin;
pub mod alloc_count;
mod amend;
pub mod arena;
pub mod book;
pub mod command_kind;
pub mod config;
pub mod counters;
pub mod describe;
mod engine;
#[cfg(test)]
mod engine_tests;
pub mod follower;
mod funding;
pub mod hot_loop;
pub mod index;
mod invariants;
pub mod journal_follower;
mod matching;
pub mod message;
mod place;
mod queries;
mod read_ahead;
pub mod recovery;
pub mod reject_reason;
pub mod sequencer;
pub mod shared_counters;
mod sink;
mod snapshot;
pub mod spot;
mod state_hash;
#[cfg(test)]
mod test_fixture;
pub mod units;

pub use counters::Counters;
pub use engine::Engine;
pub use sink::EventSink;

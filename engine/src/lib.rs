//! pinwheel-engine: commands and events, order books, accounts, and the hot loop.
//!
//! [`Engine`] owns every book and balance and is driven by [`Engine::apply`]; [`book`]
//! exposes the order book alone ([`book::LimitOrderBook`]) for replay tools.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod accounts;
mod amend;
pub mod arena;
pub mod book;
pub mod config;
pub mod counters;
mod engine;
#[cfg(test)]
mod engine_tests;
mod funding;
pub mod index;
mod invariants;
mod matching;
pub mod message;
mod place;
mod queries;
mod sink;
mod snapshot;
pub mod spot;
mod state_hash;

pub use counters::Counters;
pub use engine::Engine;
pub use sink::EventSink;

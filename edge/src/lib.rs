//! pinwheel-edge: the REST + WebSocket gateway. Parses and checks requests, turns them into
//! fixed-size engine commands on this edge's input ring, completes each request when its
//! `Done` event comes back on the output ring, and serves market data and private streams.

pub mod api_account;
pub mod api_ops;
pub mod api_public;
pub mod api_trading;
pub mod api_wallet;
pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod fills;
pub mod link;
pub mod market_data;
pub mod metrics;
pub mod openapi;
pub mod owners;
pub mod rate_limit;
pub mod ring_io;
mod run;
pub mod server;
pub mod session;
pub mod state;
pub mod translate;
pub mod units;
pub mod ws;

#[cfg(test)]
mod test_support;

pub use config::EdgeConfig;
pub use pinwheel_ring::WaitStrategy;
pub use run::run;

//! pinwheel-feed: ships the engine's trades to QuestDB, where the candle store
//! (`pinwheel-candles`) queries them.
//!
//! - [`shipper::TradeShipper`]: trades to QuestDB over ILP/HTTP (questdb-rs), batched,
//!   acknowledged, retried, deduplicated by the table ([`schema`]).
//! - [`run`]: the `pinwheel feed` process: follows the engine's output ring, catches up
//!   from the journal after a restart or a lap ([`catch_up`]).
//! - [`status::FeedStatus`]: cursor, lag and link state for `/metrics`.

pub mod catch_up;
pub mod config;
pub mod error;
pub mod follow;
pub mod ilp_link;
pub mod pipeline;
pub mod schema;
pub mod shipper;
pub mod status;

pub use config::FeedConfig;
pub use error::FeedError;
pub use follow::{run, run_until};

//! pinwheel-feed: ships the engine's trades to QuestDB and answers candle and ticker queries.
//!
//! - [`shipper::TradeShipper`]: trades to QuestDB over ILP/HTTP (questdb-rs), batched,
//!   acknowledged, retried, deduplicated by the table ([`schema`]).
//! - [`candle_source::CandleSource`]: klines and 24h tickers from QuestDB
//!   ([`questdb_candles`]) or from the in-process [`embedded::EmbeddedStore`]; same answers.
//! - [`run`]: the `pinwheel feed` process: follows the engine's output ring, catches up
//!   from the journal after a restart or a lap ([`catch_up`]).
//! - [`status::FeedStatus`]: cursor, lag and link state for `/metrics`.

pub mod candle;
pub mod candle_source;
pub mod catch_up;
pub mod config;
pub mod embedded;
pub mod error;
pub mod follow;
pub mod ilp_link;
pub mod interval;
pub mod pipeline;
pub mod questdb_candles;
pub mod questdb_http;
pub mod schema;
pub mod shipper;
pub mod status;
pub mod trade_row;

pub use candle::{Kline, Ticker};
pub use candle_source::CandleSource;
pub use config::FeedConfig;
pub use embedded::EmbeddedStore;
pub use error::FeedError;
pub use follow::{run, run_until};
pub use interval::Interval;
pub use questdb_candles::QuestDbCandles;
pub use trade_row::TradeRow;

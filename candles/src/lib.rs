//! pinwheel-candles: the candle store and its queries, shared by the edge (which answers
//! `/klines`, `/tickers` and the kline streams) and the feed (which ships the trades).
//!
//! - [`candle_source::CandleSource`]: klines and 24h tickers from QuestDB
//!   ([`questdb_candles`], over [`questdb_http`]) or from the in-process
//!   [`embedded::EmbeddedStore`]; same answers for the same trades ([`candle`] holds the
//!   rules both follow).
//! - [`trade_row::TradeRow`]: one trade as the feed ships it and the stores aggregate it.
//! - [`feed_status`]: the file in which the feed reports how far behind QuestDB is.

pub mod candle;
pub mod candle_source;
pub mod embedded;
pub mod error;
pub mod feed_status;
pub mod interval;
pub mod questdb_candles;
pub mod questdb_http;
pub mod trade_row;

pub use candle::{Kline, Ticker};
pub use candle_source::CandleSource;
pub use embedded::EmbeddedStore;
pub use error::CandleError;
pub use interval::Interval;
pub use questdb_candles::QuestDbCandles;
pub use trade_row::TradeRow;

//! The one query interface edges use for `/klines`, `/tickers` and the live streams, with
//! QuestDB or the embedded store behind it. Both give the same answers for the same trades.

use std::sync::Arc;

use crate::candle::{Kline, KlineRange, Ticker};
use crate::embedded::EmbeddedStore;
use crate::error::{CandleError, Result};
use crate::interval::Interval;
use crate::questdb_candles::QuestDbCandles;

/// Where candles come from.
#[derive(Clone, Debug)]
pub enum CandleSource {
    /// SQL against QuestDB's `/exec` (the feed ships the trades there).
    QuestDb(QuestDbCandles),
    /// Computed in-process from the trades the owner applies.
    Embedded(Arc<EmbeddedStore>),
}

impl CandleSource {
    /// Klines of `market` (symbol, e.g. `BTC-USD`). With `start_ms`: the first `limit`
    /// buckets from the one holding `start_ms`, none after the one holding `end_ms`; without:
    /// the last `limit` buckets up to the one holding `end_ms`. Empty buckets carry the last
    /// close (volume 0); buckets before the market's first trade are left out.
    pub async fn klines(
        &self,
        market: &str,
        interval: Interval,
        start_ms: Option<i64>,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<Kline>> {
        let range = KlineRange::new(interval, start_ms, end_ms, limit)?;
        match self {
            Self::QuestDb(questdb) => {
                let (questdb, market) = (questdb.clone(), market.to_string());
                blocking(move || questdb.klines_blocking(&market, range)).await
            }
            Self::Embedded(store) => store.klines(market, &range),
        }
    }

    /// The 24h rolling ticker of `market` at `now_ms`: trades in the 86,400 whole seconds
    /// ending with the one holding `now_ms`.
    pub async fn ticker_24h(&self, market: &str, now_ms: i64) -> Result<Ticker> {
        match self {
            Self::QuestDb(questdb) => {
                let (questdb, market) = (questdb.clone(), market.to_string());
                blocking(move || questdb.ticker_blocking(&market, now_ms)).await
            }
            Self::Embedded(store) => store.ticker_24h(market, now_ms),
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CandleError::QuestDb(format!("query task failed: {e}")))?
}

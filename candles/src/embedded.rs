//! The embedded candle store: klines and tickers computed in-process from trades, for
//! when no QuestDB is configured. Edges own one, feed it every `Trade` event they read
//! (after rebuilding it from the journal at start) and answer from it.
//!
//! Per market it keeps one bucket per minute (every interval is a whole number of minutes
//! on the same calendar grid, so larger klines are folds of minutes) and, for the rolling
//! ticker, one bucket per second for the last [`SECONDS_RETAINED`] seconds.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::RwLock;

use pinwheel_engine::config::MarketTable;

use crate::candle::{ticker_from, ticker_window, Bucket, Kline, KlineRange, Ticker};
use crate::error::{check_symbol, CandleError, Result};
use crate::trade_row::TradeRow;

/// How many seconds of per-second buckets a market keeps behind its newest trade
/// (a day and an hour: a ticker asked up to an hour after the newest trade is exact).
pub const SECONDS_RETAINED: i64 = 25 * 3600;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Default)]
struct MarketSeries {
    minutes: BTreeMap<i64, Bucket>,
    seconds: VecDeque<(i64, Bucket)>,
    /// Close of the newest second bucket dropped from `seconds`, and that second.
    dropped: Option<(i64, i64)>,
    last_trade_id: u64,
}

impl MarketSeries {
    fn add(&mut self, trade: &TradeRow) {
        let time_ms = trade.timestamp_ms();
        let minute = time_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let second = time_ms.div_euclid(1000) * 1000;
        self.minutes
            .entry(minute)
            .or_default()
            .add(trade.price, trade.quantity, trade.trade_id);
        match self.seconds.back_mut() {
            Some((last, bucket)) if *last == second => {
                bucket.add(trade.price, trade.quantity, trade.trade_id)
            }
            _ => {
                let mut bucket = Bucket::default();
                bucket.add(trade.price, trade.quantity, trade.trade_id);
                self.seconds.push_back((second, bucket));
            }
        }
        self.last_trade_id = trade.trade_id;
        while let Some(&(oldest, bucket)) = self.seconds.front() {
            if oldest >= second - SECONDS_RETAINED * 1000 {
                break;
            }
            self.dropped = Some((oldest, bucket.close));
            self.seconds.pop_front();
        }
    }

    fn klines(&self, asked: &KlineRange) -> Vec<Kline> {
        let before = |open: i64| {
            self.minutes
                .range(..open)
                .next_back()
                .map(|(_, bucket)| bucket.close)
        };
        let carry = before(asked.first_open_ms);
        let first_trade = self
            .minutes
            .range(asked.first_open_ms..)
            .next()
            .map(|(minute, _)| *minute);
        let range = &asked.from_first_trade(carry, first_trade);
        if range.is_empty() {
            return Vec::new();
        }
        let interval = range.interval;
        let mut rows: Vec<Kline> = Vec::new();
        let mut current: Option<(i64, Bucket)> = None;
        for (&minute, bucket) in self
            .minutes
            .range(range.first_open_ms..range.end_exclusive_ms())
        {
            let open = interval.align(minute);
            match &mut current {
                Some((start, sum)) if *start == open => sum.merge(bucket),
                _ => {
                    if let Some((start, sum)) = current.take() {
                        rows.push(sum.kline(start, interval));
                    }
                    current = Some((open, *bucket));
                }
            }
        }
        if let Some((start, sum)) = current {
            rows.push(sum.kline(start, interval));
        }
        range.densify(&rows, carry)
    }

    fn ticker(&self, now_ms: i64) -> Result<Ticker> {
        let window = ticker_window(now_ms);
        if let Some((dropped_second, _)) = self.dropped {
            if dropped_second >= window.0 {
                return Err(CandleError::NotRetained(format!(
                    "the ticker at {now_ms} needs trades older than the {SECONDS_RETAINED} s kept"
                )));
            }
        }
        let mut sum = Bucket::default();
        let mut carry = self.dropped.map(|(_, close)| close);
        for (second, bucket) in &self.seconds {
            if *second < window.0 {
                carry = Some(bucket.close);
            } else if *second < window.1 {
                sum.merge(bucket);
            }
        }
        Ok(ticker_from(window, &sum, carry))
    }
}

/// Klines and tickers for every market, from the trades applied to it.
#[derive(Debug)]
pub struct EmbeddedStore {
    symbols: Vec<String>,
    markets: RwLock<HashMap<String, MarketSeries>>,
}

impl EmbeddedStore {
    /// A store for markets named by id: `symbols[market_id]`.
    pub fn new(symbols: Vec<String>) -> Self {
        Self {
            symbols,
            markets: RwLock::new(HashMap::new()),
        }
    }

    /// A store for the configured markets.
    pub fn for_markets(table: &MarketTable) -> Self {
        Self::new(table.markets.iter().map(|m| m.symbol.clone()).collect())
    }

    /// Adds a trade. A trade whose id is not above the market's last one (a journal replay
    /// overlapping the live ring) is ignored, so applying twice changes nothing.
    /// Returns false for a market id the store does not know.
    pub fn apply(&self, trade: &TradeRow) -> bool {
        let Some(symbol) = self.symbols.get(trade.market as usize) else {
            return false;
        };
        let mut markets = self.markets.write().unwrap_or_else(|e| e.into_inner());
        let series = markets.entry(symbol.clone()).or_default();
        if trade.trade_id > series.last_trade_id {
            series.add(trade);
        }
        true
    }

    /// Klines of `market`; same contract as the QuestDB back-end.
    pub fn klines(&self, market: &str, range: &KlineRange) -> Result<Vec<Kline>> {
        check_symbol(market)?;
        let markets = self.markets.read().unwrap_or_else(|e| e.into_inner());
        Ok(markets
            .get(market)
            .map(|series| series.klines(range))
            .unwrap_or_default())
    }

    /// The 24h ticker of `market` at `now_ms`; same contract as the QuestDB back-end.
    pub fn ticker_24h(&self, market: &str, now_ms: i64) -> Result<Ticker> {
        check_symbol(market)?;
        let markets = self.markets.read().unwrap_or_else(|e| e.into_inner());
        match markets.get(market) {
            Some(series) => series.ticker(now_ms),
            None => Ok(ticker_from(ticker_window(now_ms), &Bucket::default(), None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Interval;
    use pinwheel_engine::message::Side;

    fn range(interval: Interval, start: Option<i64>, end: i64, limit: usize) -> KlineRange {
        KlineRange::new(interval, start, end, limit).unwrap()
    }

    fn trade(id: u64, time_ms: i64, price: i64) -> TradeRow {
        TradeRow {
            market: 0,
            taker_side: Side::Buy,
            trade_id: id,
            sequence: id,
            timestamp_ns: time_ms * 1_000_000,
            price,
            quantity: 1,
            maker_order_id: 1,
            taker_order_id: 2,
        }
    }

    #[test]
    fn replayed_trades_are_not_counted_twice() {
        let store = EmbeddedStore::new(vec!["BTC-USD".into()]);
        for _ in 0..2 {
            assert!(store.apply(&trade(1, 1_000, 10)));
            assert!(store.apply(&trade(2, 61_000, 12)));
        }
        assert!(!store.apply(&TradeRow {
            market: 9,
            ..trade(3, 1, 1)
        }));
        let klines = store
            .klines("BTC-USD", &range(Interval::M5, Some(0), 61_000, 10))
            .unwrap();
        assert_eq!(klines.len(), 1);
        assert_eq!(
            (klines[0].open, klines[0].close, klines[0].trades),
            (10, 12, 2)
        );
        let ticker = store.ticker_24h("BTC-USD", 61_000).unwrap();
        assert_eq!(
            (ticker.trades, ticker.first_trade_id, ticker.last_trade_id),
            (2, 1, 2)
        );
    }

    #[test]
    fn a_range_from_1970_answers_the_candles_from_the_first_trade() {
        let store = EmbeddedStore::new(vec!["BTC-USD".into()]);
        let minute = 1_700_000_040_000;
        store.apply(&trade(1, minute + 5, 10));
        store.apply(&trade(2, minute + 120_000, 12));
        let klines = store
            .klines(
                "BTC-USD",
                &range(Interval::M1, Some(0), minute + 600_000, 2),
            )
            .unwrap();
        let opens: Vec<i64> = klines.iter().map(|k| k.open_time_ms).collect();
        assert_eq!(opens, vec![minute, minute + 60_000]);
        assert_eq!(
            (klines[1].close, klines[1].trades),
            (10, 0),
            "a gap between trades"
        );
        let none = store
            .klines("BTC-USD", &range(Interval::M1, Some(0), minute - 1, 5))
            .unwrap();
        assert!(none.is_empty(), "no trade up to the end");
    }

    #[test]
    fn ticker_older_than_the_retained_seconds_is_refused() {
        let store = EmbeddedStore::new(vec!["BTC-USD".into()]);
        store.apply(&trade(1, 0, 10));
        store.apply(&trade(2, SECONDS_RETAINED * 1000 + 5_000, 11));
        let error = store.ticker_24h("BTC-USD", 1_000).unwrap_err();
        assert_eq!(error.code(), "CANDLES_NOT_RETAINED");
        let late = store
            .ticker_24h("BTC-USD", SECONDS_RETAINED * 1000 + 5_000)
            .unwrap();
        assert_eq!((late.trades, late.last), (1, 11));
    }
}

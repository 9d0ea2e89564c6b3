//! Klines and tickers from QuestDB: `SAMPLE BY <interval> ALIGN TO CALENDAR` through `/exec`;
//! empty buckets are filled by [`KlineRange::densify`], as for the embedded store (QuestDB's
//! own FILL dropped the trades of the first buckets of a range that starts at the first trade).

use crate::candle::{ticker_from, ticker_window, Bucket, Kline, KlineRange, Ticker};
use crate::error::{check_symbol, check_table, Result};
use crate::questdb_http::{cell_i128, cell_i64, QuestDbHttp};

/// The QuestDB back-end of candle queries.
#[derive(Clone, Debug)]
pub struct QuestDbCandles {
    http: QuestDbHttp,
    table: String,
}

const NS_PER_MS: i64 = 1_000_000;

/// The trades table's name unless configured otherwise: the feed ships into it, edges
/// query it.
pub const DEFAULT_TABLE: &str = "trades";

impl QuestDbCandles {
    /// Queries `table` on the server at `base_url` (`http://127.0.0.1:9000`).
    pub fn new(base_url: &str, table: &str) -> Result<Self> {
        check_table(table)?;
        Ok(Self {
            http: QuestDbHttp::new(base_url)?,
            table: table.to_string(),
        })
    }

    /// The SQL of a kline query. Empty buckets inside the range come from `FILL`: close
    /// carries the previous close (`PREV`), volume and trade count are 0, the rest NULL (QuestDB 9.3 fills DECIMAL with NULL only); the rule that turns
    /// them into candles is [`KlineRange::densify`].
    pub fn klines_sql(&self, market: &str, range: &KlineRange) -> Result<String> {
        check_symbol(market)?;
        let (from, to) = (
            range.first_open_ms * NS_PER_MS,
            range.end_exclusive_ms() * NS_PER_MS,
        );
        Ok(format!(
            "SELECT cast(ts AS LONG), open, high, low, close, volume, quote_volume, trades FROM (\
             SELECT ts, first(price) open, max(price) high, min(price) low, last(price) close, \
             sum(quantity) volume, sum(cast(price AS DECIMAL(38,0)) * quantity) quote_volume, \
             count() trades FROM {table} \
             WHERE symbol = '{market}' AND ts >= {from}::timestamp_ns AND ts < {to}::timestamp_ns \
             SAMPLE BY {unit} FROM {from}::timestamp_ns TO {to}::timestamp_ns \
             ALIGN TO CALENDAR)",
            table = self.table,
            unit = range.interval.as_str(),
        ))
    }

    /// Klines for `market`; see [`KlineRange::new`] for the range and
    /// [`crate::candle`] for the empty-bucket rule.
    pub fn klines_blocking(&self, market: &str, asked: KlineRange) -> Result<Vec<Kline>> {
        let interval = asked.interval;
        let carry = self.last_price_before(market, asked.first_open_ms)?;
        let first_trade = match (asked.from_start, carry) {
            (true, None) => self.first_trade_from(market, asked.first_open_ms)?,
            _ => None,
        };
        let range = asked.from_first_trade(carry, first_trade);
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let answer = self.http.exec(&self.klines_sql(market, &range)?)?;
        let mut rows = Vec::with_capacity(answer.dataset.len());
        for row in &answer.dataset {
            let trades = cell_i64(row, 7)?.unwrap_or(0);
            if trades == 0 {
                continue;
            }
            let open_time_ms = cell_i64(row, 0)?.unwrap_or(0).div_euclid(NS_PER_MS);
            let price = |index| cell_i64(row, index).map(Option::unwrap_or_default);
            rows.push(Kline {
                open_time_ms,
                close_time_ms: open_time_ms + interval.millis() - 1,
                open: price(1)?,
                high: price(2)?,
                low: price(3)?,
                close: price(4)?,
                volume: price(5)?,
                quote_volume: cell_i128(row, 6)?.unwrap_or(0),
                trades: trades as u64,
            });
        }
        Ok(range.densify(&rows, carry))
    }

    /// The 24h ticker of `market` at `now_ms` (window: [`ticker_window`]).
    pub fn ticker_blocking(&self, market: &str, now_ms: i64) -> Result<Ticker> {
        check_symbol(market)?;
        let window = ticker_window(now_ms);
        let answer = self.http.exec(&format!(
            "SELECT first(price), max(price), min(price), last(price), sum(quantity), \
             sum(cast(price AS DECIMAL(38,0)) * quantity), count(), min(trade_id), max(trade_id) \
             FROM {table} WHERE symbol = '{market}' \
             AND ts >= {from}::timestamp_ns AND ts < {to}::timestamp_ns",
            table = self.table,
            from = window.0 * NS_PER_MS,
            to = window.1 * NS_PER_MS,
        ))?;
        let mut bucket = Bucket::default();
        if let Some(row) = answer.dataset.first() {
            let int = |index| cell_i64(row, index).map(Option::unwrap_or_default);
            bucket = Bucket {
                open: int(0)?,
                high: int(1)?,
                low: int(2)?,
                close: int(3)?,
                volume: int(4)?,
                quote_volume: cell_i128(row, 5)?.unwrap_or(0),
                trades: int(6)? as u64,
                first_trade_id: int(7)? as u64,
                last_trade_id: int(8)? as u64,
            };
        }
        let carry = if bucket.trades == 0 {
            self.last_price_before(market, window.0)?
        } else {
            None
        };
        Ok(ticker_from(window, &bucket, carry))
    }

    /// The price of the last trade before `time_ms`, if any.
    /// The time (ms) of `market`'s first trade at or after `time_ms`, if any.
    fn first_trade_from(&self, market: &str, time_ms: i64) -> Result<Option<i64>> {
        let answer = self.http.exec(&format!(
            "SELECT cast(min(ts) AS LONG) FROM {table} WHERE symbol = '{market}' \
             AND ts >= {from}::timestamp_ns",
            table = self.table,
            from = time_ms * NS_PER_MS,
        ))?;
        match answer.dataset.first() {
            Some(row) => Ok(cell_i64(row, 0)?.map(|ns| ns.div_euclid(NS_PER_MS))),
            None => Ok(None),
        }
    }

    fn last_price_before(&self, market: &str, time_ms: i64) -> Result<Option<i64>> {
        let answer = self.http.exec(&format!(
            "SELECT price FROM {table} WHERE symbol = '{market}' AND ts < {before}::timestamp_ns \
             ORDER BY ts DESC, trade_id DESC LIMIT 1",
            table = self.table,
            before = time_ms * NS_PER_MS,
        ))?;
        match answer.dataset.first() {
            Some(row) => cell_i64(row, 0),
            None => Ok(None),
        }
    }
}

//! Klines and tickers as integers (ticks, lots), and the rules both back-ends share:
//! which buckets a query covers, and what an empty bucket holds.
//!
//! Empty-bucket rule: a bucket without trades has open = high = low = close = the close of
//! the last trade before it, volume 0, trades 0. Buckets before the market's first trade
//! are left out (there is no price to show).

use crate::error::{CandleError, Result};
use crate::interval::Interval;

/// Most klines one query may return.
pub const MAX_KLINES: usize = 1000;
/// The ticker's rolling window.
pub const TICKER_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// One candle. Prices in ticks, volume in lots, quote volume in tick x lot
/// (multiply by the market's `quote_per_tick_lot` for quote units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kline {
    /// Bucket start, ms since the epoch.
    pub open_time_ms: i64,
    /// Last millisecond of the bucket.
    pub close_time_ms: i64,
    /// First trade's price.
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Last trade's price.
    pub close: i64,
    /// Sum of quantities, lots.
    pub volume: i64,
    /// Sum of price x quantity, tick x lot.
    pub quote_volume: i128,
    /// Number of trades.
    pub trades: u64,
}

/// The 24-hour rolling statistics of one market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticker {
    /// Window start (inclusive), ms.
    pub open_time_ms: i64,
    /// Window end (inclusive), ms.
    pub close_time_ms: i64,
    /// First trade's price in the window (or the last price before it when none).
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Last price (0 if the market never traded).
    pub last: i64,
    /// Sum of quantities, lots.
    pub volume: i64,
    /// Sum of price x quantity, tick x lot.
    pub quote_volume: i128,
    /// Number of trades in the window.
    pub trades: u64,
    /// First trade id in the window (0 if none).
    pub first_trade_id: u64,
    /// Last trade id in the window (0 if none).
    pub last_trade_id: u64,
}

/// Aggregate of consecutive trades; the building block of klines and tickers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// First price.
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Last price.
    pub close: i64,
    /// Lots.
    pub volume: i64,
    /// Tick x lot.
    pub quote_volume: i128,
    /// Trade count.
    pub trades: u64,
    /// First trade id.
    pub first_trade_id: u64,
    /// Last trade id.
    pub last_trade_id: u64,
}

impl Bucket {
    /// Adds a trade later than every trade already in the bucket.
    pub fn add(&mut self, price: i64, quantity: i64, trade_id: u64) {
        let single = Bucket {
            open: price,
            high: price,
            low: price,
            close: price,
            volume: quantity,
            quote_volume: price as i128 * quantity as i128,
            trades: 1,
            first_trade_id: trade_id,
            last_trade_id: trade_id,
        };
        self.merge(&single);
    }

    /// Appends a bucket that covers later trades.
    pub fn merge(&mut self, later: &Bucket) {
        if later.trades == 0 {
            return;
        }
        if self.trades == 0 {
            *self = *later;
            return;
        }
        self.high = self.high.max(later.high);
        self.low = self.low.min(later.low);
        self.close = later.close;
        self.volume += later.volume;
        self.quote_volume += later.quote_volume;
        self.trades += later.trades;
        self.last_trade_id = later.last_trade_id;
    }

    /// The kline of this bucket.
    pub fn kline(&self, open_time_ms: i64, interval: Interval) -> Kline {
        Kline {
            open_time_ms,
            close_time_ms: open_time_ms + interval.millis() - 1,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            quote_volume: self.quote_volume,
            trades: self.trades,
        }
    }
}

/// The buckets a kline query covers: `first_open ..= last_open`, step `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KlineRange {
    /// The interval.
    pub interval: Interval,
    /// Open time of the first bucket, ms.
    pub first_open_ms: i64,
    /// Open time of the last bucket, ms.
    pub last_open_ms: i64,
    /// Whether the query gave a start (the range then runs forward from it).
    pub from_start: bool,
    /// Open time of the bucket holding the query's end, ms.
    pub end_open_ms: i64,
    /// Most buckets the range may hold.
    pub limit: usize,
}

impl KlineRange {
    /// With `start_ms`: the first `limit` buckets from the one holding `start_ms`, none after
    /// the one holding `end_ms`. Without: the last `limit` buckets up to the one holding `end_ms`.
    pub fn new(
        interval: Interval,
        start_ms: Option<i64>,
        end_ms: i64,
        limit: usize,
    ) -> Result<Self> {
        if limit == 0 || limit > MAX_KLINES {
            return Err(CandleError::InvalidRange(format!(
                "limit must be 1..={MAX_KLINES}, got {limit}"
            )));
        }
        if end_ms < 0 || start_ms.is_some_and(|start| start < 0 || start > end_ms) {
            return Err(CandleError::InvalidRange(format!(
                "need 0 <= start <= end, got start {start_ms:?} end {end_ms}"
            )));
        }
        let step = interval.millis();
        let span = (limit as i64 - 1) * step;
        let end_open = interval.align(end_ms);
        let (first_open_ms, last_open_ms) = match start_ms {
            Some(start) => {
                let first = interval.align(start);
                (first, end_open.min(first + span))
            }
            None => (end_open - span, end_open),
        };
        Ok(Self {
            interval,
            first_open_ms,
            last_open_ms,
            from_start: start_ms.is_some(),
            end_open_ms: end_open,
            limit,
        })
    }

    /// The range a back-end queries once it knows the market's last trade before the range
    /// (`carry`) and, when there is none, its first trade at or after the range's start. A
    /// range that runs forward from a start before the market's first trade would otherwise
    /// open with buckets that hold no price (a start of 0 would cover 1970): it starts at the
    /// first trade's bucket instead and keeps its `limit`, so a range that holds trades never
    /// comes back empty. Ranges that end at their end are left as they are.
    pub fn from_first_trade(&self, carry: Option<i64>, first_trade_ms: Option<i64>) -> Self {
        if !self.from_start || carry.is_some() {
            return *self;
        }
        let Some(trade_ms) = first_trade_ms else {
            return Self {
                last_open_ms: self.first_open_ms - self.interval.millis(),
                ..*self
            };
        };
        let first = self.interval.align(trade_ms).max(self.first_open_ms);
        let span = (self.limit as i64 - 1) * self.interval.millis();
        Self {
            first_open_ms: first,
            last_open_ms: self.end_open_ms.min(first + span),
            ..*self
        }
    }

    /// Whether the range holds no bucket at all.
    pub fn is_empty(&self) -> bool {
        self.last_open_ms < self.first_open_ms
    }

    /// The first millisecond after the last bucket.
    pub fn end_exclusive_ms(&self) -> i64 {
        self.last_open_ms + self.interval.millis()
    }

    /// Dense klines for the range from `rows` (sorted by open time; rows with no trades are
    /// treated as absent) and `carry`, the last price before the range.
    pub fn densify(&self, rows: &[Kline], mut carry: Option<i64>) -> Vec<Kline> {
        let step = self.interval.millis();
        let mut out = Vec::with_capacity(rows.len());
        let mut rows = rows.iter().filter(|row| row.trades > 0).peekable();
        let mut open = self.first_open_ms;
        while open <= self.last_open_ms {
            while rows.next_if(|row| row.open_time_ms < open).is_some() {}
            if let Some(row) = rows.next_if(|row| row.open_time_ms == open) {
                carry = Some(row.close);
                out.push(*row);
            } else if let Some(price) = carry {
                out.push(empty_kline(open, step, price));
            }
            open += step;
        }
        out
    }
}

fn empty_kline(open_time_ms: i64, step: i64, price: i64) -> Kline {
    Kline {
        open_time_ms,
        close_time_ms: open_time_ms + step - 1,
        open: price,
        high: price,
        low: price,
        close: price,
        ..Kline::default()
    }
}

/// The ticker window for a query at `now_ms`: the 86,400 whole seconds ending with the
/// current one, `[start, end)` in ms.
pub fn ticker_window(now_ms: i64) -> (i64, i64) {
    let end = now_ms.div_euclid(1000) * 1000 + 1000;
    (end - TICKER_WINDOW_MS, end)
}

/// The ticker for a window from its aggregate and the last price before it.
pub fn ticker_from(window: (i64, i64), bucket: &Bucket, carry: Option<i64>) -> Ticker {
    let base = Ticker {
        open_time_ms: window.0,
        close_time_ms: window.1 - 1,
        ..Ticker::default()
    };
    if bucket.trades == 0 {
        let price = carry.unwrap_or(0);
        return Ticker {
            open: price,
            high: price,
            low: price,
            last: price,
            ..base
        };
    }
    Ticker {
        open: bucket.open,
        high: bucket.high,
        low: bucket.low,
        last: bucket.close,
        volume: bucket.volume,
        quote_volume: bucket.quote_volume,
        trades: bucket.trades,
        first_trade_id: bucket.first_trade_id,
        last_trade_id: bucket.last_trade_id,
        ..base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_with_start_takes_the_first_limit_buckets() {
        let range = KlineRange::new(Interval::M1, Some(61_000), 10 * 60_000, 3).unwrap();
        assert_eq!((range.first_open_ms, range.last_open_ms), (60_000, 180_000));
        let range = KlineRange::new(Interval::M1, None, 10 * 60_000 + 5, 3).unwrap();
        assert_eq!(
            (range.first_open_ms, range.last_open_ms),
            (480_000, 600_000)
        );
    }

    #[test]
    fn a_forward_range_without_an_earlier_trade_starts_at_the_first_trade() {
        let asked = KlineRange::new(Interval::M1, Some(0), 9_999_999_999_999, 3).unwrap();
        let moved = asked.from_first_trade(None, Some(1_700_000_030_000));
        assert_eq!(
            (moved.first_open_ms, moved.last_open_ms),
            (1_700_000_000_000 - 20_000, 1_700_000_000_000 + 100_000)
        );
        assert_eq!(asked.from_first_trade(Some(5), Some(1)), asked);
        assert!(asked.from_first_trade(None, None).is_empty());
        let backward = KlineRange::new(Interval::M1, None, 600_000, 3).unwrap();
        assert_eq!(backward.from_first_trade(None, Some(540_000)), backward);
        let short = KlineRange::new(Interval::M1, Some(0), 130_000, 10).unwrap();
        let moved = short.from_first_trade(None, Some(70_000));
        assert_eq!((moved.first_open_ms, moved.last_open_ms), (60_000, 120_000));
        let after = short.from_first_trade(None, Some(500_000));
        assert!(after.is_empty(), "{after:?}");
    }

    #[test]
    fn bad_ranges_are_refused() {
        for (start, end, limit) in [
            (None, 0, 0),
            (None, 0, 1001),
            (Some(5), 4, 1),
            (None, -1, 1),
        ] {
            let error = KlineRange::new(Interval::M1, start, end, limit).unwrap_err();
            assert_eq!(error.code(), "INVALID_RANGE");
        }
    }

    #[test]
    fn empty_buckets_carry_the_last_close_and_none_before_the_first_trade() {
        let range = KlineRange::new(Interval::M1, Some(0), 4 * 60_000, 10).unwrap();
        let mut bucket = Bucket::default();
        bucket.add(10, 2, 1);
        bucket.add(12, 1, 2);
        let traded = bucket.kline(120_000, Interval::M1);
        let out = range.densify(&[traded], None);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], traded);
        assert_eq!(
            out[2],
            Kline {
                open_time_ms: 240_000,
                close_time_ms: 299_999,
                open: 12,
                high: 12,
                low: 12,
                close: 12,
                ..Kline::default()
            }
        );
        assert_eq!(range.densify(&[traded], Some(7))[0].close, 7);
        assert_eq!(traded.quote_volume, 32);
    }

    #[test]
    fn ticker_window_is_whole_seconds() {
        assert_eq!(ticker_window(86_400_500), (1_000, 86_401_000));
        let empty = ticker_from((0, 10), &Bucket::default(), Some(5));
        assert_eq!((empty.open, empty.last, empty.trades), (5, 5, 0));
    }
}

//! Market data as this edge sees it on the output ring: order books (initialised by a depth
//! query, then kept by deltas with gap detection), recent trades, one-minute candles from
//! which tickers and klines are computed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use pinwheel_engine::config::MarketTable;
use pinwheel_engine::message::{BookDelta, Event, EventKind, Side, Trade};

use crate::link::EngineLink;

/// One-minute candles kept per market (a week).
const MINUTE_CANDLES: usize = 7 * 24 * 60;
const MINUTE_MS: u64 = 60_000;

/// A book's aggregated levels: price ticks -> quantity lots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Book {
    /// Bids, best last (iterate in reverse).
    pub bids: BTreeMap<i64, i64>,
    /// Asks, best first.
    pub asks: BTreeMap<i64, i64>,
    /// The engine's book update id the levels reflect; `None` for an empty snapshot
    /// (the engine's depth answer then carries no id: the next delta sets it).
    pub update_id: Option<u64>,
}

/// A depth answer, levels best first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthSnapshot {
    /// (price ticks, quantity lots), best first.
    pub bids: Vec<(i64, i64)>,
    /// (price ticks, quantity lots), best first.
    pub asks: Vec<(i64, i64)>,
    /// Book update id.
    pub update_id: Option<u64>,
}

impl Book {
    /// The best `limit` levels per side.
    pub fn snapshot(&self, limit: usize) -> DepthSnapshot {
        DepthSnapshot {
            bids: self
                .bids
                .iter()
                .rev()
                .take(limit)
                .map(|(p, q)| (*p, *q))
                .collect(),
            asks: self
                .asks
                .iter()
                .take(limit)
                .map(|(p, q)| (*p, *q))
                .collect(),
            update_id: self.update_id,
        }
    }

    /// Sets one level (0 removes it).
    pub fn set_level(&mut self, side: u8, price: i64, quantity: i64) {
        let levels = if side == Side::Buy as u8 {
            &mut self.bids
        } else {
            &mut self.asks
        };
        if quantity == 0 {
            levels.remove(&price);
        } else {
            levels.insert(price, quantity);
        }
    }

    /// Applies a delta: `Applied`, `Stale` (already in the snapshot) or `Gap`.
    pub fn apply(&mut self, delta: &BookDelta) -> DeltaOutcome {
        match self.update_id {
            Some(current) if delta.update_id <= current => return DeltaOutcome::Stale,
            Some(current) if delta.update_id != current + 1 => return DeltaOutcome::Gap,
            _ => {}
        }
        self.set_level(delta.side, delta.price, delta.quantity);
        self.update_id = Some(delta.update_id);
        DeltaOutcome::Applied
    }
}

/// What applying a delta did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaOutcome {
    /// The book moved on by one.
    Applied,
    /// Older than the book; ignored.
    Stale,
    /// A delta is missing; the book must be re-queried.
    Gap,
}

/// One public trade as kept for `/trades`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeRecord {
    /// Trade id.
    pub trade_id: u64,
    /// Price ticks.
    pub price: i64,
    /// Quantity lots.
    pub quantity: i64,
    /// Taker side.
    pub taker_side: u8,
    /// Engine time, ms since the epoch.
    pub time_ms: u64,
}

/// One candle in integer units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    /// Start, ms since the epoch.
    pub open_time_ms: u64,
    /// Price ticks.
    pub open: i64,
    /// Price ticks.
    pub high: i64,
    /// Price ticks.
    pub low: i64,
    /// Price ticks.
    pub close: i64,
    /// Base lots traded.
    pub volume: i64,
    /// Sum of price ticks x lots (quote value = this x quote_per_tick_lot).
    pub tick_lots: i128,
    /// Number of trades.
    pub trades: u64,
}

impl Candle {
    fn start(open_time_ms: u64, trade: &TradeRecord) -> Self {
        Self {
            open_time_ms,
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: trade.quantity,
            tick_lots: trade.price as i128 * trade.quantity as i128,
            trades: 1,
        }
    }

    /// Merges a later candle into this one.
    pub fn merge(&mut self, later: &Candle) {
        self.high = self.high.max(later.high);
        self.low = self.low.min(later.low);
        self.close = later.close;
        self.volume += later.volume;
        self.tick_lots += later.tick_lots;
        self.trades += later.trades;
    }
}

/// Per-market state.
#[derive(Default)]
pub struct MarketState {
    /// The book; `ready` false until a depth answer is installed.
    pub book: Book,
    /// Whether `book` is in step with the engine.
    pub ready: bool,
    /// Recent trades, oldest first.
    pub trades: VecDeque<TradeRecord>,
    /// One-minute candles, oldest first.
    pub minutes: VecDeque<Candle>,
}

/// All markets' state.
pub struct MarketData {
    markets: Vec<Mutex<MarketState>>,
    depth_limit: u32,
    recent_trades: usize,
}

impl MarketData {
    /// Empty state for every market of `table`.
    pub fn new(table: &MarketTable, depth_limit: u32, recent_trades: usize) -> Self {
        Self {
            markets: table
                .markets
                .iter()
                .map(|_| Mutex::new(MarketState::default()))
                .collect(),
            depth_limit,
            recent_trades: recent_trades.max(1),
        }
    }

    /// Runs `f` on a market's state; `None` for an unknown market.
    pub fn with<T>(&self, market: u32, f: impl FnOnce(&MarketState) -> T) -> Option<T> {
        let state = self
            .markets
            .get(market as usize)?
            .lock()
            .expect("market lock");
        Some(f(&state))
    }

    /// Markets whose book is not in step (for the re-query task).
    pub fn unready(&self) -> Vec<u32> {
        (0..self.markets.len() as u32)
            .filter(|m| !self.markets[*m as usize].lock().expect("market lock").ready)
            .collect()
    }

    /// The depth query size used to (re)initialise books.
    pub fn depth_limit(&self) -> u32 {
        self.depth_limit
    }

    /// Applies a public event (book delta, trade); asks for a re-query on a gap.
    pub fn apply_public(&self, event: &Event, link: &EngineLink) {
        if event.head.kind == EventKind::BookDelta as u8 {
            let delta: BookDelta = event.body();
            if self.apply_delta(&delta) == Some(DeltaOutcome::Gap) {
                tracing::warn!(market = delta.market, "book delta gap; re-querying depth");
                let _ = link.request_depth_init(delta.market, self.depth_limit);
            }
        } else if event.head.kind == EventKind::Trade as u8 {
            let trade: Trade = event.body();
            self.record_trade(&trade, event.head.timestamp_ns / 1_000_000);
        }
    }

    /// Applies a delta to a ready book; `None` when the book is not ready or unknown.
    pub fn apply_delta(&self, delta: &BookDelta) -> Option<DeltaOutcome> {
        let mut state = self
            .markets
            .get(delta.market as usize)?
            .lock()
            .expect("market lock");
        if !state.ready {
            return None;
        }
        let outcome = state.book.apply(delta);
        if outcome == DeltaOutcome::Gap {
            state.ready = false;
        }
        Some(outcome)
    }

    /// Installs a depth answer (the events of a `QueryDepth`, ending with `Done`).
    pub fn install_depth(&self, market: u32, events: &[Event]) {
        let Some(slot) = self.markets.get(market as usize) else {
            return;
        };
        if events
            .iter()
            .any(|e| e.head.kind == EventKind::Rejected as u8)
        {
            return;
        }
        let mut book = Book::default();
        for event in events
            .iter()
            .filter(|e| e.head.kind == EventKind::DepthLevel as u8)
        {
            let level: BookDelta = event.body();
            book.set_level(level.side, level.price, level.quantity);
            book.update_id = Some(level.update_id);
        }
        let mut state = slot.lock().expect("market lock");
        state.book = book;
        state.ready = true;
    }

    /// Marks every book stale and asks the engine for each again.
    pub fn invalidate_all(&self, link: &EngineLink) {
        for (market, slot) in self.markets.iter().enumerate() {
            slot.lock().expect("market lock").ready = false;
            let _ = link.request_depth_init(market as u32, self.depth_limit);
        }
    }

    /// Records a public trade.
    pub fn record_trade(&self, trade: &Trade, time_ms: u64) {
        let Some(slot) = self.markets.get(trade.market as usize) else {
            return;
        };
        let record = TradeRecord {
            trade_id: trade.trade_id,
            price: trade.price,
            quantity: trade.quantity,
            taker_side: trade.taker_side,
            time_ms,
        };
        let mut state = slot.lock().expect("market lock");
        if state.trades.len() == self.recent_trades {
            state.trades.pop_front();
        }
        state.trades.push_back(record);
        let minute = time_ms / MINUTE_MS * MINUTE_MS;
        match state.minutes.back_mut() {
            Some(last) if last.open_time_ms == minute => {
                last.merge(&Candle::start(minute, &record))
            }
            _ => {
                if state.minutes.len() == MINUTE_CANDLES {
                    state.minutes.pop_front();
                }
                state.minutes.push_back(Candle::start(minute, &record));
            }
        }
    }
}

/// Candle intervals: name -> milliseconds.
pub const INTERVALS: [(&str, u64); 7] = [
    ("1m", MINUTE_MS),
    ("5m", 5 * MINUTE_MS),
    ("15m", 15 * MINUTE_MS),
    ("30m", 30 * MINUTE_MS),
    ("1h", 60 * MINUTE_MS),
    ("4h", 240 * MINUTE_MS),
    ("1d", 1440 * MINUTE_MS),
];

/// Aggregates one-minute candles into `interval_ms` candles within [start, end].
pub fn klines(
    minutes: &VecDeque<Candle>,
    interval_ms: u64,
    start_ms: u64,
    end_ms: u64,
    limit: usize,
) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for minute in minutes.iter().filter(|c| {
        c.open_time_ms >= start_ms / interval_ms * interval_ms && c.open_time_ms <= end_ms
    }) {
        let bucket = minute.open_time_ms / interval_ms * interval_ms;
        match out.last_mut() {
            Some(last) if last.open_time_ms == bucket => last.merge(minute),
            _ => out.push(Candle {
                open_time_ms: bucket,
                ..*minute
            }),
        }
    }
    let skip = out.len().saturating_sub(limit);
    out.split_off(skip)
}

/// The rolling 24 h summary ending at `now_ms` (minute resolution), `None` if no trades.
pub fn ticker(minutes: &VecDeque<Candle>, now_ms: u64) -> Option<Candle> {
    let from = now_ms.saturating_sub(1440 * MINUTE_MS);
    let mut window = minutes.iter().filter(|c| c.open_time_ms + MINUTE_MS > from);
    let mut total = *window.next()?;
    for minute in window {
        total.merge(minute);
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(side: Side, price: i64, quantity: i64, update_id: u64) -> BookDelta {
        BookDelta {
            market: 0,
            side: side as u8,
            price,
            quantity,
            update_id,
            ..Default::default()
        }
    }

    #[test]
    fn deltas_apply_in_order_and_gaps_are_detected() {
        let mut book = Book {
            update_id: Some(10),
            ..Default::default()
        };
        assert_eq!(
            book.apply(&delta(Side::Buy, 100, 5, 9)),
            DeltaOutcome::Stale
        );
        assert_eq!(
            book.apply(&delta(Side::Buy, 100, 5, 11)),
            DeltaOutcome::Applied
        );
        assert_eq!(
            book.apply(&delta(Side::Sell, 105, 2, 12)),
            DeltaOutcome::Applied
        );
        assert_eq!(
            book.apply(&delta(Side::Buy, 99, 1, 13)),
            DeltaOutcome::Applied
        );
        assert_eq!(
            book.apply(&delta(Side::Buy, 100, 0, 14)),
            DeltaOutcome::Applied
        );
        assert_eq!(book.apply(&delta(Side::Buy, 98, 1, 16)), DeltaOutcome::Gap);
        let snapshot = book.snapshot(10);
        assert_eq!(snapshot.bids, vec![(99, 1)]);
        assert_eq!(snapshot.asks, vec![(105, 2)]);
        assert_eq!(snapshot.update_id, Some(14));
    }

    #[test]
    fn empty_snapshot_takes_the_next_delta_as_baseline() {
        let mut book = Book::default();
        assert_eq!(
            book.apply(&delta(Side::Sell, 7, 3, 41)),
            DeltaOutcome::Applied
        );
        assert_eq!(book.apply(&delta(Side::Sell, 8, 3, 43)), DeltaOutcome::Gap);
    }

    #[test]
    fn candles_aggregate_into_klines_and_tickers() {
        let table = MarketTable::resolve(&Default::default()).unwrap();
        let data = MarketData::new(&table, 100, 3);
        let t0 = 1_700_000_000_000 / (5 * MINUTE_MS) * (5 * MINUTE_MS);
        for (i, (price, qty)) in [(100, 1), (110, 2), (90, 3), (105, 4)].iter().enumerate() {
            let trade = Trade {
                trade_id: i as u64 + 1,
                price: *price,
                quantity: *qty,
                ..Default::default()
            };
            data.record_trade(&trade, t0 + i as u64 * 2 * MINUTE_MS);
        }
        data.with(0, |state| {
            assert_eq!(state.trades.len(), 3, "ring buffer keeps the newest 3");
            assert_eq!(state.trades[0].trade_id, 2);
            let five = klines(&state.minutes, 5 * MINUTE_MS, 0, u64::MAX, 100);
            assert_eq!(five.len(), 2);
            let first = five[0];
            assert_eq!(
                (
                    first.open_time_ms,
                    first.open,
                    first.high,
                    first.low,
                    first.close,
                    first.volume
                ),
                (t0, 100, 110, 90, 90, 6)
            );
            assert_eq!((five[1].open, five[1].volume, five[1].trades), (105, 4, 1));
            assert_eq!(
                klines(&state.minutes, 5 * MINUTE_MS, 0, u64::MAX, 1),
                vec![five[1]]
            );
            let day = ticker(&state.minutes, t0 + 10 * MINUTE_MS).unwrap();
            assert_eq!(
                (day.open, day.high, day.low, day.close, day.volume, day.trades),
                (100, 110, 90, 105, 10, 4)
            );
            assert!(ticker(&state.minutes, t0 + 3 * 1440 * MINUTE_MS).is_none());
        })
        .unwrap();
    }
}

//! Market data as this edge sees it on the output ring: order books (initialised by a depth
//! query, then kept by deltas with gap detection), recent trades, and the candle store
//! (the feed's [`EmbeddedStore`]); trades and candles are refilled from the journal at start
//! ([`crate::market_data::history`]) and fed every live trade.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pinwheel_candles::{EmbeddedStore, TradeRow};
use pinwheel_engine::config::MarketTable;
use pinwheel_engine::message::{BookDelta, Event, EventKind, Side, Trade};

use crate::api::error::ApiError;

/// Where the market data sends the depth queries that (re)initialise its books: the engine
/// link implements it, so this module needs nothing of the link.
pub trait DepthQueries {
    /// Asks the engine for `market`'s depth, `limit` levels a side; the answer comes back
    /// through [`MarketData::install_depth`].
    fn request_depth_init(&self, market: u32, limit: u32) -> Result<(), ApiError>;
}

pub mod fills;
pub mod history;
pub mod orders;

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

/// Per-market state.
#[derive(Default)]
pub struct MarketState {
    /// The book; `ready` false until a depth answer is installed.
    pub book: Book,
    /// Whether `book` is in step with the engine.
    pub ready: bool,
    /// Recent trades, oldest first.
    pub trades: VecDeque<TradeRecord>,
}

/// All markets' state.
pub struct MarketData {
    markets: Vec<Mutex<MarketState>>,
    depth_limit: u32,
    recent_trades: usize,
    candles: Arc<EmbeddedStore>,
    /// Highest trade id the journal rebuild applied: the live ring's copies of those trades
    /// are skipped so no trade is counted twice.
    rebuilt_trade_id: AtomicU64,
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
            candles: Arc::new(EmbeddedStore::for_markets(table)),
            rebuilt_trade_id: AtomicU64::new(0),
        }
    }

    /// The candle store live trades go into (klines and tickers without QuestDB, and the
    /// live kline@/ticker@ streams always).
    pub fn candles(&self) -> &Arc<EmbeddedStore> {
        &self.candles
    }

    /// Applies a trade event to the recent trades and the candle store. The journal replay
    /// ([`crate::market_data::history`]) calls it directly: the ring is not read yet, so there is nothing
    /// to skip.
    pub fn apply_trade(&self, event: &Event) {
        if let Some(row) = TradeRow::from_event(event) {
            self.record_trade(&event.body(), event.head.timestamp_ns / 1_000_000);
            self.candles.apply(&row);
        }
    }

    /// Applies a trade read on the output ring unless the journal replay already applied it.
    pub fn apply_live_trade(&self, event: &Event) {
        if !self.is_rebuilt(event.body::<Trade>().trade_id) {
            self.apply_trade(event);
        }
    }

    /// Sets the highest trade id the journal replay applied; the ring's copies of trades
    /// up to it are skipped.
    pub fn mark_rebuilt(&self, trade_id: u64) {
        self.rebuilt_trade_id.fetch_max(trade_id, Ordering::Release);
    }

    /// Whether the journal replay already applied this trade (candles, trades and fills).
    pub fn is_rebuilt(&self, trade_id: u64) -> bool {
        trade_id <= self.rebuilt_trade_id.load(Ordering::Acquire)
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
    pub fn apply_public(&self, event: &Event, link: &dyn DepthQueries) {
        if event.head.kind == EventKind::BookDelta as u8 {
            let delta: BookDelta = event.body();
            if self.apply_delta(&delta) == Some(DeltaOutcome::Gap) {
                tracing::warn!(market = delta.market, "book delta gap; re-querying depth");
                let _ = link.request_depth_init(delta.market, self.depth_limit);
            }
        } else if event.head.kind == EventKind::Trade as u8 {
            self.apply_live_trade(event);
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
        for header in events
            .iter()
            .filter(|e| e.head.kind == EventKind::DepthSequence as u8)
        {
            book.update_id = Some(header.body::<BookDelta>().update_id);
        }
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
    pub fn invalidate_all(&self, link: &dyn DepthQueries) {
        for (market, slot) in self.markets.iter().enumerate() {
            slot.lock().expect("market lock").ready = false;
            let _ = link.request_depth_init(market as u32, self.depth_limit);
        }
    }

    /// Records a public trade (for `/trades`).
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_candles::candle::KlineRange;
    use pinwheel_candles::Interval;

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
    fn live_trades_already_rebuilt_are_not_counted_twice() {
        let table = MarketTable::resolve(&Default::default()).unwrap();
        let data = MarketData::new(&table, 100, 3);
        let minute = 1_700_000_040_000i64;
        let row = |trade_id: u64, price: i64| TradeRow {
            market: 0,
            taker_side: Side::Buy,
            trade_id,
            sequence: trade_id,
            timestamp_ns: (minute + trade_id as i64) * 1_000_000,
            price,
            quantity: 2,
            maker_order_id: 1,
            taker_order_id: 2,
        };
        // As if the journal rebuild had applied trades 1 and 2 of market 0.
        data.candles().apply(&row(1, 100));
        data.candles().apply(&row(2, 110));
        data.rebuilt_trade_id.store(2, Ordering::Release);
        let ring_copies = [row(2, 110), row(3, 90)];
        for trade in &ring_copies {
            data.apply_live_trade(&trade.to_event());
        }
        let symbol = &table.markets[0].symbol;
        let klines = data
            .candles()
            .klines(
                symbol,
                &KlineRange::new(Interval::M1, None, minute + 10, 5).unwrap(),
            )
            .unwrap();
        assert_eq!(klines.len(), 1);
        let k = klines[0];
        assert_eq!((k.open, k.high, k.low, k.close), (100, 110, 90, 90));
        assert_eq!((k.volume, k.trades), (6, 3));
    }
}

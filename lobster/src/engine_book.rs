//! The replay's order book: the real [`Engine`], one market, driven by engine commands.
//!
//! LOBSTER's prices (dollars x 10000) are the market's ticks and its share counts are the
//! lots, so nothing is converted. One user owns every resting order; another sends the
//! sweeps that check the matching, so self-trade prevention never applies. Orders are
//! placed post-only (a LOBSTER submission never trades: NASDAQ reports the trades of an
//! aggressive order as executions of the resting ones), reduced by amends that keep their
//! place in the queue, and cancelled; the top levels are read with the engine's depth
//! query. NASDAQ's order reference numbers are mapped to the engine's order ids.

use std::collections::HashMap;

use anyhow::{bail, Context};
use pinwheel_engine::config::{AssetConfig, Capacity, EngineConfig, MarketConfig, MarketTable};
use pinwheel_engine::message::{
    AmendOrder, BookDelta, Command, CommandKind, CreateUser, DepthRequest, Event, EventKind,
    MarketScope, OrderAddress, OrderUpdate, PlaceOrder, Reject, RejectReason, Side, TimeInForce,
    Trade, Transfer, FLAG_POST_ONLY,
};
use pinwheel_engine::Engine;

/// The one market.
const MARKET: u32 = 0;
/// Owns every resting order.
const BOOK_USER: u64 = 1;
/// Sends the sweeps.
const TAKER_USER: u64 = 2;
/// Each user's deposit of each asset: far more than any day's orders lock, with room for
/// both users within the engine's i64 bound on an asset's net deposits.
const DEPOSIT: i64 = i64::MAX / 4;

/// A resting order as the replay sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resting {
    /// Its side.
    pub side: Side,
    /// Its price in ticks.
    pub price: i64,
    /// What is left of it, in lots.
    pub remaining: i64,
}

/// One fill of a sweep: the resting order (NASDAQ id), its price, the quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepFill {
    /// NASDAQ's id of the resting order.
    pub maker_id: u64,
    /// Trade price (the maker's), in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub quantity: i64,
}

/// The engine and the id maps.
pub struct EngineBook {
    engine: Box<Engine>,
    events: Vec<Event>,
    sequence: u64,
    /// NASDAQ id -> engine order id of the resting order.
    engine_ids: HashMap<u64, u64>,
    /// Engine order id -> NASDAQ id.
    nasdaq_ids: HashMap<u64, u64>,
}

/// The market: one tick is one LOBSTER price unit, one lot one share, no fees.
fn engine_config(max_orders: usize, max_levels: usize) -> EngineConfig {
    EngineConfig {
        assets: vec![AssetConfig::new("USD", 4), AssetConfig::new("SHARE", 0)],
        markets: vec![MarketConfig {
            symbol: "LOBSTER".into(),
            ..MarketConfig::spot("SHARE", "USD", ["0.0001", "1", "1"], (0, 0))
        }],
        capacity: Capacity {
            orders: max_orders,
            users: 2,
            price_levels: max_levels,
            api_keys: 1,
            depth_levels: max_levels,
        },
    }
}

impl EngineBook {
    /// An engine for at most `max_orders` resting orders and `max_levels` levels per side,
    /// with its two users funded.
    pub fn new(max_orders: usize, max_levels: usize) -> anyhow::Result<Self> {
        let config = engine_config(max_orders, max_levels);
        let table = MarketTable::resolve(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut book = Self {
            engine: Box::new(Engine::new(table, &config.capacity)),
            events: Vec::with_capacity(2 * max_levels + 16),
            sequence: 0,
            engine_ids: HashMap::with_capacity(max_orders),
            nasdaq_ids: HashMap::with_capacity(max_orders),
        };
        for (user, name) in [(BOOK_USER, "nasdaq-book"), (TAKER_USER, "sweeps")] {
            let body = CreateUser::named(name).expect("a short name");
            book.apply(CommandKind::CreateUser, 0, &body)
                .map_err(|reason| anyhow::anyhow!("creating user {name}: {reason:?}"))?;
            for asset in 0..2 {
                let deposit = Transfer::of(asset, DEPOSIT);
                book.apply(CommandKind::Deposit, user, &deposit)
                    .map_err(|reason| anyhow::anyhow!("funding user {name}: {reason:?}"))?;
            }
        }
        debug_assert!(book.engine.accounts().exists(TAKER_USER));
        Ok(book)
    }

    /// Stamps and applies one command; its events are left in `self.events`.
    fn apply<B: bytemuck::Pod>(
        &mut self,
        kind: CommandKind,
        user: u64,
        body: &B,
    ) -> Result<(), RejectReason> {
        self.sequence += 1;
        let mut command = Command::from_user(kind, user, body);
        command.head.request_id = self.sequence;
        command.head.sequence = self.sequence;
        command.head.timestamp_ns = self.sequence;
        self.events.clear();
        self.engine.apply(&command, &mut self.events);
        let rejected = self
            .events
            .iter()
            .find(|event| event.head.kind == EventKind::Rejected as u8);
        match rejected {
            None => Ok(()),
            Some(event) => {
                let reject: Reject = event.body();
                Err(RejectReason::from_u16(reject.reason).unwrap_or(RejectReason::InvalidCommand))
            }
        }
    }

    fn engine_id(&self, id: u64) -> anyhow::Result<u64> {
        match self.engine_ids.get(&id) {
            Some(&engine_id) => Ok(engine_id),
            None => bail!("order {id} does not rest in the engine"),
        }
    }

    fn forget(&mut self, id: u64) {
        if let Some(engine_id) = self.engine_ids.remove(&id) {
            self.nasdaq_ids.remove(&engine_id);
        }
    }

    /// Rests an order with NASDAQ's id at the tail of its price level. Refused if the id
    /// rests already, or if the order would trade (the book would be crossed).
    pub fn add(&mut self, id: u64, side: Side, price: i64, quantity: i64) -> anyhow::Result<()> {
        if self.engine_ids.contains_key(&id) {
            bail!("order {id} rests already");
        }
        let body = PlaceOrder {
            flags: FLAG_POST_ONLY,
            ..PlaceOrder::limit(MARKET, side, TimeInForce::Gtc, price, quantity)
        };
        self.apply(CommandKind::PlaceOrder, BOOK_USER, &body)
            .map_err(|reason| anyhow::anyhow!("the engine refused order {id}: {reason:?}"))?;
        let engine_id = self
            .events
            .iter()
            .find(|event| event.head.kind == EventKind::OrderUpdate as u8)
            .map(|event| event.body::<OrderUpdate>().order_id)
            .context("a placed order is reported")?;
        self.engine_ids.insert(id, engine_id);
        self.nasdaq_ids.insert(engine_id, id);
        Ok(())
    }

    /// Removes an order entirely.
    pub fn cancel(&mut self, id: u64) -> anyhow::Result<()> {
        let body = OrderAddress::by_id(MARKET, self.engine_id(id)?);
        self.apply(CommandKind::CancelOrder, BOOK_USER, &body)
            .map_err(|reason| anyhow::anyhow!("the engine refused to cancel {id}: {reason:?}"))?;
        self.forget(id);
        Ok(())
    }

    /// Lowers an order's quantity by `by` lots keeping its place in the queue (an amend to
    /// the same price); at zero the order is cancelled.
    pub fn reduce(&mut self, id: u64, by: i64) -> anyhow::Result<()> {
        let Some(order) = self.order(id) else {
            bail!("order {id} does not rest in the engine");
        };
        if by <= 0 || by > order.remaining {
            bail!(
                "cannot take {by} off order {id}, which has {}",
                order.remaining
            );
        }
        if by == order.remaining {
            return self.cancel(id);
        }
        let body = AmendOrder {
            market: MARKET,
            order_id: self.engine_id(id)?,
            new_quantity: order.remaining - by,
            ..AmendOrder::default()
        };
        self.apply(CommandKind::AmendOrder, BOOK_USER, &body)
            .map_err(|reason| anyhow::anyhow!("the engine refused to reduce {id}: {reason:?}"))
    }

    /// The resting order with NASDAQ's id.
    pub fn order(&self, id: u64) -> Option<Resting> {
        let order = self.engine.order(*self.engine_ids.get(&id)?)?;
        Some(Resting {
            side: order.side,
            price: order.price,
            remaining: order.remaining,
        })
    }

    /// `(NASDAQ id, remaining)` of the orders at one level, in the engine's time priority.
    pub fn level_orders(&self, side: Side, price: i64) -> impl Iterator<Item = (u64, i64)> + '_ {
        self.engine
            .level_orders(MARKET, side, price)
            .map(|order| (self.nasdaq_ids[&order.id], order.remaining))
    }

    /// Prices of one side's levels, best first.
    pub fn level_prices(&self, side: Side) -> impl Iterator<Item = i64> + '_ {
        let book = self.engine.book(MARKET).expect("the market exists");
        book.side(side).iter_best_first().map(|level| level.price)
    }

    /// The engine's total at one price (0 if it has no level there).
    pub fn level_quantity(&self, side: Side, price: i64) -> i64 {
        let book = self.engine.book(MARKET).expect("the market exists");
        book.side(side).at(price).map_or(0, |level| level.quantity)
    }

    /// The best `n` levels of `side`, `(price, quantity)` best first, as the engine's depth
    /// query answers them.
    pub fn depth(&mut self, side: Side, n: usize, out: &mut Vec<(i64, i64)>) {
        out.clear();
        let body = DepthRequest {
            market: MARKET,
            limit: u32::try_from(n.max(1)).unwrap_or(u32::MAX),
        };
        let answered = self.apply(CommandKind::QueryDepth, 0, &body);
        assert_eq!(
            answered,
            Ok(()),
            "the depth query of the one market answers"
        );
        let levels = self
            .events
            .iter()
            .filter(|event| event.head.kind == EventKind::DepthLevel as u8)
            .map(|event| event.body::<BookDelta>())
            .filter(|level| level.side == side as u8);
        out.extend(levels.map(|level| (level.price, level.quantity)));
    }

    /// Sends an immediate-or-cancel order on `taker` for `quantity` lots limited at
    /// `limit` and collects its fills in the engine's matching order.
    pub fn sweep(
        &mut self,
        taker: Side,
        limit: i64,
        quantity: i64,
        fills: &mut Vec<SweepFill>,
    ) -> anyhow::Result<()> {
        let body = PlaceOrder::limit(MARKET, taker, TimeInForce::Ioc, limit, quantity);
        self.apply(CommandKind::PlaceOrder, TAKER_USER, &body)
            .map_err(|reason| anyhow::anyhow!("the engine refused the sweep: {reason:?}"))?;
        let first = fills.len();
        let trades = self
            .events
            .iter()
            .filter(|event| event.head.kind == EventKind::Trade as u8)
            .map(|event| event.body::<Trade>());
        for trade in trades {
            let maker_id = self.nasdaq_ids[&trade.maker_order_id];
            fills.push(SweepFill {
                maker_id,
                price: trade.price,
                quantity: trade.quantity,
            });
        }
        for fill in &fills[first..] {
            if self.order(fill.maker_id).is_none() {
                self.forget(fill.maker_id);
            }
        }
        Ok(())
    }

    /// Cancels every resting order.
    pub fn clear(&mut self) -> anyhow::Result<()> {
        let body = MarketScope::of(MARKET);
        self.apply(CommandKind::CancelAll, BOOK_USER, &body)
            .map_err(|reason| anyhow::anyhow!("the engine refused to cancel all: {reason:?}"))?;
        self.engine_ids.clear();
        self.nasdaq_ids.clear();
        Ok(())
    }

    /// Resting orders.
    pub fn len(&self) -> usize {
        self.engine.open_order_count()
    }

    /// True when no order rests.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(book: &mut EngineBook, side: Side) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        book.depth(side, 10, &mut out);
        out
    }

    #[test]
    fn levels_sort_best_first_and_aggregate() {
        let mut book = EngineBook::new(16, 8).unwrap();
        book.add(1, Side::Buy, 100, 5).unwrap();
        book.add(2, Side::Buy, 102, 1).unwrap();
        book.add(3, Side::Buy, 100, 2).unwrap();
        book.add(4, Side::Sell, 105, 3).unwrap();
        book.add(5, Side::Sell, 104, 4).unwrap();
        assert_eq!(levels(&mut book, Side::Buy), vec![(102, 1), (100, 7)]);
        assert_eq!(levels(&mut book, Side::Sell), vec![(104, 4), (105, 3)]);
        assert_eq!(book.level_quantity(Side::Buy, 100), 7);
        assert_eq!(
            book.level_prices(Side::Sell).collect::<Vec<_>>(),
            [104, 105]
        );
        assert!(book.add(1, Side::Sell, 110, 1).is_err(), "a resting id");
        assert!(book.add(6, Side::Buy, 104, 1).is_err(), "it would cross");
        assert_eq!(book.len(), 5);
    }

    #[test]
    fn the_engine_sweeps_in_price_then_time_order() {
        let mut book = EngineBook::new(16, 8).unwrap();
        book.add(1, Side::Sell, 101, 2).unwrap();
        book.add(2, Side::Sell, 100, 3).unwrap();
        book.add(3, Side::Sell, 100, 4).unwrap();
        let mut fills = Vec::new();
        book.sweep(Side::Buy, 101, 8, &mut fills).unwrap();
        let order: Vec<(u64, i64, i64)> = fills
            .iter()
            .map(|f| (f.maker_id, f.price, f.quantity))
            .collect();
        assert_eq!(order, vec![(2, 100, 3), (3, 100, 4), (1, 101, 1)]);
        assert_eq!(levels(&mut book, Side::Sell), vec![(101, 1)]);
        assert_eq!(book.order(1).unwrap().remaining, 1);
        assert!(book.order(2).is_none());
        book.add(2, Side::Sell, 102, 1).unwrap();
    }

    #[test]
    fn a_limit_stops_the_sweep_and_reduce_keeps_priority() {
        let mut book = EngineBook::new(16, 8).unwrap();
        book.add(1, Side::Buy, 100, 5).unwrap();
        book.add(2, Side::Buy, 100, 5).unwrap();
        book.reduce(1, 4).unwrap();
        let queue: Vec<(u64, i64)> = book.level_orders(Side::Buy, 100).collect();
        assert_eq!(queue, vec![(1, 1), (2, 5)]);
        let mut fills = Vec::new();
        book.sweep(Side::Sell, 101, 3, &mut fills).unwrap();
        assert!(fills.is_empty());
        book.sweep(Side::Sell, 100, 3, &mut fills).unwrap();
        let makers: Vec<u64> = fills.iter().map(|f| f.maker_id).collect();
        assert_eq!(makers, vec![1, 2]);
        assert_eq!(levels(&mut book, Side::Buy), vec![(100, 3)]);
        assert!(book.reduce(2, 4).is_err());
        book.reduce(2, 3).unwrap();
        assert!(book.is_empty());
        assert!(book.cancel(2).is_err());
    }

    #[test]
    fn full_pools_refuse_and_clear_empties_the_book() {
        let mut book = EngineBook::new(2, 1).unwrap();
        book.add(1, Side::Buy, 100, 1).unwrap();
        assert!(book.add(2, Side::Buy, 99, 1).is_err(), "one level per side");
        book.add(2, Side::Buy, 100, 1).unwrap();
        assert!(book.add(3, Side::Buy, 100, 1).is_err(), "two orders");
        book.clear().unwrap();
        assert!(book.is_empty());
        assert!(book.order(1).is_none());
        book.add(1, Side::Sell, 100, 1).unwrap();
    }
}

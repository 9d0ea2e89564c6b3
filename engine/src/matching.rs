//! Price-time matching of one taker against the other side of a book, with self-trade
//! prevention, and the read-only walk that prices the same path without executing it.

use crate::arena::Order;
use crate::book::{crosses, opposite, OrderBook};
use crate::engine::Engine;
use crate::message::{
    EventKind, Fill, OrderStatus, OrderType, RejectReason, SelfTradePrevention, Side, TimeInForce,
    Trade,
};
use crate::sink::Out;
use crate::spot::{fee, settle, FillMoney, Terms};

/// An order while it takes liquidity (a new order, or a resting one amended into a cross).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Taker {
    pub order: Order,
    /// Limit price, `None` for market orders.
    pub limit: Option<i64>,
    /// Market buy by quote amount: `order.locked` is the budget left.
    pub by_quote: bool,
    /// Matching stopped at one of the user's own orders (expire taker / expire both).
    pub stopped_by_stp: bool,
    /// A quote-amount order could not afford the next lot.
    pub budget_spent: bool,
}

/// What walking the book for a would-be taker finds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Walk {
    pub quantity: i64,
    pub cost: i64,
    pub best_price: i64,
    pub worst_price: i64,
}

/// What a taker does on meeting an order of its own user, by mode: (expire the maker, stop the taker).
fn stp_action(mode: SelfTradePrevention) -> (bool, bool) {
    match mode {
        SelfTradePrevention::ExpireTaker => (false, true),
        SelfTradePrevention::ExpireMaker => (true, false),
        SelfTradePrevention::ExpireBoth => (true, true),
    }
}

impl Engine {
    /// Walks the side a taker would hit, exactly as [`Engine::match_taker`] would, without
    /// changing anything: up to `max_quantity` lots, or as many as `budget` quote units buy.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn walk(
        &self,
        market: u32,
        taker_side: Side,
        limit: Option<i64>,
        max_quantity: i64,
        budget: Option<i64>,
        user_id: u64,
        stp: SelfTradePrevention,
    ) -> Result<Walk, RejectReason> {
        let terms = Terms::of(&self.table.markets[market as usize]);
        let book = &self.books[market as usize];
        let mut walk = Walk::default();
        let mut left = max_quantity;
        for level in book.side(opposite(taker_side)).iter_best_first() {
            if left == 0 || !crosses(taker_side, limit, level.price) {
                break;
            }
            for slot in OrderBook::queue(&self.arena, level) {
                let maker = self.arena.get(slot);
                if user_id != 0 && maker.user_id == user_id {
                    let (_, stop) = stp_action(stp);
                    if stop {
                        return Ok(walk);
                    }
                    continue;
                }
                let mut quantity = left.min(maker.remaining);
                if let Some(budget) = budget {
                    let per_lot = terms
                        .notional(level.price, 1)
                        .ok_or(RejectReason::Overflow)?;
                    quantity = quantity.min((budget - walk.cost) / per_lot);
                    if quantity == 0 {
                        return Ok(walk);
                    }
                }
                let cost = terms
                    .notional(level.price, quantity)
                    .ok_or(RejectReason::Overflow)?;
                walk.cost = walk.cost.checked_add(cost).ok_or(RejectReason::Overflow)?;
                if walk.quantity == 0 {
                    walk.best_price = level.price;
                }
                walk.worst_price = level.price;
                walk.quantity += quantity;
                left -= quantity;
                if left == 0 {
                    break;
                }
            }
        }
        Ok(walk)
    }

    /// Matches the taker against the book until it is filled, its limit or budget stops it,
    /// the book runs out, or self-trade prevention stops it.
    pub(crate) fn match_taker(&mut self, taker: &mut Taker, out: &mut Out) {
        let market = taker.order.market;
        let terms = Terms::of(&self.table.markets[market as usize]);
        let maker_side = opposite(taker.order.side);
        while taker.order.remaining > 0 {
            let Some(slot) = self.books[market as usize].front(maker_side) else {
                break;
            };
            let maker = *self.arena.get(slot);
            if !crosses(taker.order.side, taker.limit, maker.price) {
                break;
            }
            if maker.user_id == taker.order.user_id {
                let (expire_maker, stop) = stp_action(taker.order.stp);
                if expire_maker {
                    self.end_order(slot, OrderStatus::Expired, out);
                }
                if stop {
                    taker.stopped_by_stp = true;
                    break;
                }
                continue;
            }
            let mut quantity = taker.order.remaining.min(maker.remaining);
            if taker.by_quote {
                let per_lot = maker.price * terms.quote_per_tick_lot;
                quantity = quantity.min(taker.order.locked / per_lot);
                if quantity == 0 {
                    taker.budget_spent = true;
                    break;
                }
            }
            self.fill(&terms, taker, slot, quantity, out);
        }
    }

    /// One trade between the taker and the maker in `slot`.
    fn fill(&mut self, terms: &Terms, taker: &mut Taker, slot: u32, quantity: i64, out: &mut Out) {
        let maker = *self.arena.get(slot);
        let plan = FillPlan::of(terms, taker, &maker, quantity);
        settle(
            &mut self.accounts,
            terms,
            plan.buyer,
            plan.seller,
            &plan.money,
        );
        let trade = self.next_trade(terms, taker, &maker, quantity);
        let change = self.books[terms.market as usize].reduce(&mut self.arena, slot, quantity);
        let maker_after = {
            let stored = self.arena.get_mut(slot);
            stored.locked -= plan.maker_release;
            stored.executed_quantity += quantity;
            stored.executed_quote += plan.money.cost;
            *stored
        };
        taker.order.locked -= plan.taker_release;
        taker.order.remaining -= quantity;
        taker.order.executed_quantity += quantity;
        taker.order.executed_quote += plan.money.cost;
        out.emit(EventKind::Trade, 0, 0, &trade);
        let (maker_fee, taker_fee) = plan.fees_of(maker.side);
        emit_fill(out, terms, &trade, &maker_after, true, maker_fee);
        emit_fill(out, terms, &trade, &taker.order, false, taker_fee);
        self.emit_delta(terms.market, &change, out);
        self.publish_maker(slot, &maker_after, out);
        for user in [maker.user_id, taker.order.user_id] {
            self.emit_balance(user, terms.base, 0, out);
            self.emit_balance(user, terms.quote, 0, out);
        }
    }

    /// The trade record of the next fill, taking the next trade id.
    fn next_trade(&mut self, terms: &Terms, taker: &Taker, maker: &Order, quantity: i64) -> Trade {
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        Trade {
            market: terms.market,
            taker_side: taker.order.side as u8,
            reserved: [0; 3],
            trade_id,
            price: maker.price,
            quantity,
            maker_order_id: maker.id,
            taker_order_id: taker.order.id,
            maker_user_id: maker.user_id,
            taker_user_id: taker.order.user_id,
        }
    }

    /// The maker's order update after a fill; a filled maker leaves the book.
    fn publish_maker(&mut self, slot: u32, maker_after: &Order, out: &mut Out) {
        let status = if maker_after.remaining == 0 {
            debug_assert_eq!(maker_after.locked, 0, "filled maker still holds funds");
            self.detach(slot);
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        self.emit_order(
            maker_after,
            OrderType::Limit,
            TimeInForce::Gtc,
            status,
            0,
            out,
        );
    }
}

/// What one fill moves: who pays and receives, the money, and what each order's lock gives back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FillPlan {
    buyer: u64,
    seller: u64,
    money: FillMoney,
    taker_release: i64,
    maker_release: i64,
}

impl FillPlan {
    /// The plan of `quantity` lots between `taker` and the resting `maker`, at the maker's price.
    fn of(terms: &Terms, taker: &Taker, maker: &Order, quantity: i64) -> Self {
        // Both fit: the resting order's notional and base were checked when it was placed.
        let cost = maker.price * quantity * terms.quote_per_tick_lot;
        let base = quantity * terms.lot_units;
        let taker_release = match (taker.order.side, taker.limit) {
            // A buy limit locked its own price: the improvement comes back with the fill.
            (Side::Buy, Some(limit)) => limit * quantity * terms.quote_per_tick_lot,
            (Side::Buy, None) => cost,
            (Side::Sell, _) => base,
        };
        let maker_release = match maker.side {
            Side::Buy => cost,
            Side::Sell => base,
        };
        let (buyer, seller, buyer_bps, seller_bps, buyer_release) = match taker.order.side {
            Side::Buy => (
                taker.order.user_id,
                maker.user_id,
                terms.taker_fee_bps,
                terms.maker_fee_bps,
                taker_release,
            ),
            Side::Sell => (
                maker.user_id,
                taker.order.user_id,
                terms.maker_fee_bps,
                terms.taker_fee_bps,
                cost,
            ),
        };
        let money = FillMoney {
            cost,
            base,
            buyer_fee: fee(base, buyer_bps),
            seller_fee: fee(cost, seller_bps),
            buyer_release,
        };
        Self {
            buyer,
            seller,
            money,
            taker_release,
            maker_release,
        }
    }

    /// (maker's fee, taker's fee): each pays in the asset it receives.
    fn fees_of(&self, maker_side: Side) -> (i64, i64) {
        match maker_side {
            Side::Buy => (self.money.buyer_fee, self.money.seller_fee),
            Side::Sell => (self.money.seller_fee, self.money.buyer_fee),
        }
    }
}

fn emit_fill(out: &mut Out, terms: &Terms, trade: &Trade, order: &Order, is_maker: bool, fee: i64) {
    let counter_order_id = if is_maker {
        trade.taker_order_id
    } else {
        trade.maker_order_id
    };
    let fee_asset = match order.side {
        Side::Buy => terms.base,
        Side::Sell => terms.quote,
    };
    let body = Fill {
        market: terms.market,
        side: order.side as u8,
        is_maker: is_maker as u8,
        reserved: 0,
        trade_id: trade.trade_id,
        order_id: order.id,
        counter_order_id,
        price: trade.price,
        quantity: trade.quantity,
        fee,
        fee_asset,
        reserved2: 0,
    };
    out.emit(EventKind::Fill, order.user_id, 0, &body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{CommandKind, PlaceOrder};
    use crate::test_fixture::{limit_order, table, trades, two_users, BTC_USD};

    fn taker(side: Side, limit: Option<i64>, quantity: i64) -> Taker {
        let mut order = Order::new(7, side, limit.unwrap_or(0), quantity);
        order.user_id = 1;
        Taker {
            order,
            limit,
            by_quote: false,
            stopped_by_stp: false,
            budget_spent: false,
        }
    }

    fn maker(side: Side, price: i64) -> Order {
        let mut order = Order::new(3, side, price, 5_000);
        order.user_id = 2;
        order
    }

    #[test]
    fn a_buy_taker_pays_the_makers_price_and_gets_its_price_improvement_back() {
        let terms = Terms::of(&table().markets[BTC_USD as usize]);
        let plan = FillPlan::of(
            &terms,
            &taker(Side::Buy, Some(105), 1_000),
            &maker(Side::Sell, 100),
            1_000,
        );
        assert_eq!((plan.buyer, plan.seller), (1, 2));
        assert_eq!((plan.money.cost, plan.money.base), (100_000, 1_000));
        // The taker locked its own limit: 105 x 1000; the fill releases all of it.
        assert_eq!(plan.taker_release, 105_000);
        assert_eq!(plan.money.buyer_release, 105_000);
        assert_eq!(plan.maker_release, 1_000, "a sell maker releases its base");
        // Fees in the asset received, rounded down: taker 20 bps of base, maker 10 bps of quote.
        assert_eq!((plan.money.buyer_fee, plan.money.seller_fee), (2, 100));
        assert_eq!(plan.fees_of(Side::Sell), (100, 2));
    }

    #[test]
    fn a_sell_taker_releases_base_and_the_buy_maker_releases_the_cost() {
        let terms = Terms::of(&table().markets[BTC_USD as usize]);
        let plan = FillPlan::of(
            &terms,
            &taker(Side::Sell, None, 300),
            &maker(Side::Buy, 200),
            300,
        );
        assert_eq!((plan.buyer, plan.seller), (2, 1));
        assert_eq!((plan.taker_release, plan.maker_release), (300, 60_000));
        assert_eq!(plan.money.buyer_release, 60_000);
        // The maker buys: 10 bps of 300 base rounds down to 0; the taker pays 20 bps of 60,000.
        assert_eq!(plan.fees_of(Side::Buy), (0, 120));
    }

    #[test]
    fn self_trade_prevention_is_a_table_of_modes() {
        let cases = [
            (SelfTradePrevention::ExpireTaker, (false, true)),
            (SelfTradePrevention::ExpireMaker, (true, false)),
            (SelfTradePrevention::ExpireBoth, (true, true)),
        ];
        for (mode, action) in cases {
            assert_eq!(stp_action(mode), action, "{mode:?}");
        }
    }

    #[test]
    fn a_taker_walks_the_best_price_first_and_trades_at_each_makers_price() {
        let (mut engine, alice, bob) = two_users();
        for price in [102, 100, 101] {
            crate::test_fixture::run(
                &mut engine,
                CommandKind::PlaceOrder,
                alice,
                &limit_order(Side::Sell, price, 10),
            );
        }
        let walk = engine
            .walk(
                BTC_USD,
                Side::Buy,
                Some(101),
                25,
                None,
                bob,
                SelfTradePrevention::ExpireTaker,
            )
            .unwrap();
        assert_eq!(
            (walk.quantity, walk.cost, walk.best_price, walk.worst_price),
            (20, 2_010, 100, 101)
        );
        let taker: PlaceOrder = limit_order(Side::Buy, 101, 25);
        let events = crate::test_fixture::run(&mut engine, CommandKind::PlaceOrder, bob, &taker);
        let fills: Vec<(i64, i64)> = trades(&events)
            .iter()
            .map(|t| (t.price, t.quantity))
            .collect();
        assert_eq!(
            fills,
            [(100, 10), (101, 10)],
            "the walk priced exactly what matching did"
        );
    }

    #[test]
    fn the_walk_stops_at_the_takers_own_order_when_its_mode_stops_it() {
        let (mut engine, alice, _) = two_users();
        crate::test_fixture::run(
            &mut engine,
            CommandKind::PlaceOrder,
            alice,
            &limit_order(Side::Sell, 100, 10),
        );
        let walk_as = |mode| {
            engine
                .walk(BTC_USD, Side::Buy, None, 10, None, alice, mode)
                .unwrap()
        };
        assert_eq!(walk_as(SelfTradePrevention::ExpireTaker), Walk::default());
        let walk = walk_as(SelfTradePrevention::ExpireMaker);
        assert_eq!(walk.quantity, 0, "an expired maker is skipped, not priced");
    }
}

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
        let price = maker.price;
        // Both fit: the resting order's notional and base were checked when it was placed.
        let cost = price * quantity * terms.quote_per_tick_lot;
        let base = quantity * terms.lot_units;
        let taker_release = match (taker.order.side, taker.limit) {
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
        settle(&mut self.accounts, terms, buyer, seller, &money);
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        let change = self.books[terms.market as usize].reduce(&mut self.arena, slot, quantity);
        let maker_after = {
            let stored = self.arena.get_mut(slot);
            stored.locked -= maker_release;
            stored.executed_quantity += quantity;
            stored.executed_quote += cost;
            *stored
        };
        taker.order.locked -= taker_release;
        taker.order.remaining -= quantity;
        taker.order.executed_quantity += quantity;
        taker.order.executed_quote += cost;
        let trade = Trade {
            market: terms.market,
            taker_side: taker.order.side as u8,
            reserved: [0; 3],
            trade_id,
            price,
            quantity,
            maker_order_id: maker.id,
            taker_order_id: taker.order.id,
            maker_user_id: maker.user_id,
            taker_user_id: taker.order.user_id,
        };
        out.emit(EventKind::Trade, 0, 0, &trade);
        let maker_fee = if maker.side == Side::Buy {
            money.buyer_fee
        } else {
            money.seller_fee
        };
        let taker_fee = if maker.side == Side::Buy {
            money.seller_fee
        } else {
            money.buyer_fee
        };
        emit_fill(out, terms, &trade, &maker_after, true, maker_fee);
        emit_fill(out, terms, &trade, &taker.order, false, taker_fee);
        self.emit_delta(terms.market, &change, out);
        let maker_status = if maker_after.remaining == 0 {
            debug_assert_eq!(maker_after.locked, 0, "filled maker still holds funds");
            self.detach(slot);
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        self.emit_order(
            &maker_after,
            OrderType::Limit,
            TimeInForce::Gtc,
            maker_status,
            0,
            out,
        );
        for user in [maker.user_id, taker.order.user_id] {
            self.emit_balance(user, terms.base, 0, out);
            self.emit_balance(user, terms.quote, 0, out);
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

//! Cancel, cancel-all and amend of resting orders.

use crate::arena::Order;
use crate::book::{crosses, opposite};
use crate::engine::{open_status, Engine, Outcome};
use crate::matching::Taker;
use crate::message::{
    AmendOrder, MarketScope, OrderAddress, OrderStatus, OrderType, RejectReason, TimeInForce,
};
use crate::sink::Out;
use crate::spot::Terms;

/// A validated amend.
struct AmendPlan {
    slot: u32,
    price: i64,
    quantity: i64,
    remaining: i64,
    lock: i64,
}

impl Engine {
    /// True if a limit order like `order` would trade against its book's other side now.
    fn crosses_book(&self, order: &Order) -> bool {
        self.books[order.market as usize]
            .side(opposite(order.side))
            .best()
            .is_some_and(|best| crosses(order.side, Some(order.price), best.price))
    }

    /// Queues an amended order that crosses nothing at the back of its new level and last
    /// in its owner's list, as [`Engine::detach`], matching nothing and
    /// [`Engine::finish_taker`] would, with the same events: BookDelta, OrderUpdate.
    fn requeue_passive(&mut self, slot: u32, out: &mut Out) {
        self.requeue_user(slot);
        let order = *self.arena.get(slot);
        let market = order.market;
        let change = self.books[market as usize].push_back(&mut self.arena, slot);
        self.emit_delta(market, &change, out);
        let status = open_status(&order);
        self.emit_order(&order, OrderType::Limit, TimeInForce::Gtc, status, 0, out);
    }

    /// CancelOrder. Events: BookDelta, Balance, OrderUpdate(Canceled).
    pub(crate) fn cancel(&mut self, user_id: u64, body: &OrderAddress, out: &mut Out) -> Outcome {
        let slot = self.find_own_order(user_id, body)?;
        self.end_order(slot, OrderStatus::Canceled, out);
        Ok(())
    }

    /// CancelAll: cancels the user's open orders (in one market or all) in placement order.
    pub(crate) fn cancel_all(
        &mut self,
        user_id: u64,
        body: &MarketScope,
        out: &mut Out,
    ) -> Outcome {
        let mut cursor = self.first_order_in(user_id, body)?;
        while let Some(slot) = self.next_order_in(&mut cursor, body) {
            self.end_order(slot, OrderStatus::Canceled, out);
        }
        Ok(())
    }

    fn plan_amend(&self, user_id: u64, body: &AmendOrder) -> Result<AmendPlan, RejectReason> {
        if body.order_id == 0 {
            return Err(RejectReason::InvalidCommand);
        }
        let address = OrderAddress::by_id(body.market, body.order_id);
        let slot = self.find_own_order(user_id, &address)?;
        let order = self.arena.get(slot);
        if body.new_price < 0 {
            return Err(RejectReason::InvalidPrice);
        }
        if body.new_quantity < 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        let price = if body.new_price == 0 {
            order.price
        } else {
            body.new_price
        };
        let quantity = if body.new_quantity == 0 {
            order.quantity
        } else {
            body.new_quantity
        };
        let unchanged = price == order.price && quantity == order.quantity;
        if unchanged || quantity > order.quantity || quantity <= order.executed_quantity {
            return Err(RejectReason::InvalidAmend);
        }
        let remaining = quantity - order.executed_quantity;
        let terms = Terms::of(&self.table.markets[order.market as usize]);
        let lock = terms
            .limit_lock(order.side, price, remaining)
            .ok_or(RejectReason::Overflow)?;
        let book = &self.books[order.market as usize];
        if price != order.price {
            // A new price places the order anew (it may trade): not in a halted market.
            self.require_trading(order.market)?;
            let best = book.side(opposite(order.side)).best();
            if order.post_only
                && best.is_some_and(|best| crosses(order.side, Some(price), best.price))
            {
                return Err(RejectReason::PostOnlyWouldCross);
            }
            if !book.side(order.side).can_rest_at(price) {
                return Err(RejectReason::CapacityFull);
            }
        }
        let asset = self.lock_asset(order.market, order.side);
        if lock - order.locked > self.accounts.holding(user_id, asset).available {
            return Err(RejectReason::InsufficientBalance);
        }
        Ok(AmendPlan {
            slot,
            price,
            quantity,
            remaining,
            lock,
        })
    }

    /// AmendOrder. A lower quantity at the same price keeps the order's place in its queue;
    /// a new price takes it out, lets it trade if it now crosses, and queues the rest last.
    /// Events: BookDelta (old level), Balance (lock change, if any), then for a new price
    /// the fill events and BookDelta or Balance as for a new order; last the OrderUpdate.
    pub(crate) fn amend(&mut self, user_id: u64, body: &AmendOrder, out: &mut Out) -> Outcome {
        let plan = self.plan_amend(user_id, body)?;
        let order = *self.arena.get(plan.slot);
        let market = order.market;
        let price_changed = plan.price != order.price;
        let change = if price_changed {
            self.books[market as usize].remove(&mut self.arena, plan.slot)
        } else {
            let by = order.remaining - plan.remaining;
            self.books[market as usize].reduce(&mut self.arena, plan.slot, by)
        };
        self.emit_delta(market, &change, out);
        let asset = self.lock_asset(market, order.side);
        if plan.lock != order.locked {
            if plan.lock > order.locked {
                self.accounts.lock(user_id, asset, plan.lock - order.locked);
            } else {
                self.accounts
                    .unlock(user_id, asset, order.locked - plan.lock);
            }
            self.emit_balance(user_id, asset, 0, out);
        }
        let stored = self.arena.get_mut(plan.slot);
        stored.price = plan.price;
        stored.quantity = plan.quantity;
        stored.remaining = plan.remaining;
        stored.locked = plan.lock;
        let amended = *stored;
        if !price_changed {
            self.emit_order(
                &amended,
                OrderType::Limit,
                TimeInForce::Gtc,
                open_status(&amended),
                0,
                out,
            );
            return Ok(());
        }
        if !self.crosses_book(&amended) {
            // Nothing to trade against: the outcome is `finish_taker` queueing it whole, so
            // the order keeps its pool slot and index entries and only moves queues.
            self.requeue_passive(plan.slot, out);
            return Ok(());
        }
        // Out of the book, the order trades as a taker; `finish_taker` queues what is left.
        self.detach(plan.slot);
        let mut taker = Taker {
            order: amended,
            limit: Some(plan.price),
            by_quote: false,
            stopped_by_stp: false,
            budget_spent: false,
        };
        self.match_taker(&mut taker, out);
        self.finish_taker(&mut taker, true, OrderType::Limit, TimeInForce::Gtc, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{CommandKind, EventKind, OrderUpdate, Side};
    use crate::test_fixture::{limit_order, run, two_users, BTC_USD};

    /// Places a GTC buy of 10 at 100 for a fresh user; returns (engine, user, order id).
    fn resting_buy() -> (Engine, u64, u64) {
        let (mut engine, alice, _) = two_users();
        let events = run(
            &mut engine,
            CommandKind::PlaceOrder,
            alice,
            &limit_order(Side::Buy, 100, 10),
        );
        let update = events
            .iter()
            .find(|event| event.head.kind == EventKind::OrderUpdate as u8)
            .expect("an order update");
        let order_id = update.body::<OrderUpdate>().order_id;
        (engine, alice, order_id)
    }

    fn amend_of(order_id: u64, new_price: i64, new_quantity: i64) -> AmendOrder {
        AmendOrder {
            market: BTC_USD,
            reserved: 0,
            order_id,
            new_price,
            new_quantity,
        }
    }

    /// The amend rules, one row each: what is refused, and with which reason.
    #[test]
    fn what_an_amend_may_change_is_a_table_of_cases() {
        let (engine, alice, id) = resting_buy();
        let cases = [
            (
                "no order id",
                amend_of(0, 101, 0),
                RejectReason::InvalidCommand,
            ),
            (
                "not an order",
                amend_of(id + 100, 101, 0),
                RejectReason::UnknownOrder,
            ),
            (
                "negative price",
                amend_of(id, -1, 0),
                RejectReason::InvalidPrice,
            ),
            (
                "negative quantity",
                amend_of(id, 0, -1),
                RejectReason::InvalidQuantity,
            ),
            (
                "changes nothing",
                amend_of(id, 100, 10),
                RejectReason::InvalidAmend,
            ),
            (
                "raises the quantity",
                amend_of(id, 0, 11),
                RejectReason::InvalidAmend,
            ),
            (
                "more than the balance",
                amend_of(id, 1_000_000, 0),
                RejectReason::InsufficientBalance,
            ),
        ];
        for (name, body, reason) in cases {
            assert_eq!(
                engine.plan_amend(alice, &body).err(),
                Some(reason),
                "{name}"
            );
        }
        assert_eq!(
            engine.plan_amend(alice + 1, &amend_of(id, 101, 0)).err(),
            Some(RejectReason::NotOwner),
            "another user's order (the edge answers it exactly as an unknown order)"
        );
    }

    #[test]
    fn a_lower_quantity_relocks_less_and_a_new_price_relocks_at_that_price() {
        let (engine, alice, id) = resting_buy();
        let plan = engine.plan_amend(alice, &amend_of(id, 0, 4)).unwrap();
        assert_eq!(
            (plan.price, plan.quantity, plan.remaining, plan.lock),
            (100, 4, 4, 400)
        );
        let plan = engine.plan_amend(alice, &amend_of(id, 90, 0)).unwrap();
        assert_eq!((plan.price, plan.quantity, plan.lock), (90, 10, 900));
    }
}

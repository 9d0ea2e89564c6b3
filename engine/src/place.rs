//! Placing an order: validation (everything that can reject, before anything changes),
//! the lock, matching, and then resting or ending the remainder.

use crate::arena::Order;
use crate::book::{crosses, opposite};
use crate::engine::{open_status, Engine, Outcome};
use crate::matching::Taker;
use crate::message::{
    OrderStatus, OrderType, PlaceOrder, RejectReason, SelfTradePrevention, Side, TimeInForce,
    FLAG_POST_ONLY, TEXT_LEN,
};
use crate::sink::Out;
use crate::spot::Terms;

/// A validated order, ready to execute.
#[derive(Clone, Copy, Debug)]
struct Plan {
    order_type: OrderType,
    time_in_force: TimeInForce,
    limit: Option<i64>,
    by_quote: bool,
    lock_asset: u32,
    lock: i64,
    order: Order,
}

/// The enum fields of a place command, decoded.
struct Kinds {
    side: Side,
    order_type: OrderType,
    time_in_force: TimeInForce,
    stp: SelfTradePrevention,
    post_only: bool,
}

fn decode(body: &PlaceOrder) -> Result<Kinds, RejectReason> {
    let invalid = RejectReason::InvalidCommand;
    let side = Side::from_u8(body.side).ok_or(invalid)?;
    let order_type = OrderType::from_u8(body.order_type).ok_or(invalid)?;
    let time_in_force = TimeInForce::from_u8(body.time_in_force).ok_or(invalid)?;
    // 0 is the default mode.
    let stp = match body.stp {
        0 => SelfTradePrevention::ExpireTaker,
        byte => SelfTradePrevention::from_u8(byte).ok_or(invalid)?,
    };
    if body.flags & !FLAG_POST_ONLY != 0 {
        return Err(RejectReason::InvalidCommand);
    }
    let post_only = body.flags & FLAG_POST_ONLY != 0;
    let plain_limit = order_type == OrderType::Limit && time_in_force == TimeInForce::Gtc;
    if post_only && !plain_limit {
        return Err(RejectReason::InvalidCommand);
    }
    let by_quote = body.quote_quantity != 0;
    if by_quote && time_in_force == TimeInForce::Fok {
        return Err(RejectReason::InvalidCommand);
    }
    Ok(Kinds {
        side,
        order_type,
        time_in_force,
        stp,
        post_only,
    })
}

/// Price and size checks: the table of what each order type must carry.
fn check_sizes(body: &PlaceOrder, kinds: &Kinds, terms: &Terms, min_lots: i64) -> Outcome {
    let market = kinds.order_type == OrderType::Market;
    if (market && body.price != 0) || (!market && body.price <= 0) {
        return Err(RejectReason::InvalidPrice);
    }
    if body.quote_quantity != 0 {
        if !market || kinds.side == Side::Sell || body.quantity != 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        if body.quote_quantity < 0 {
            return Err(RejectReason::InvalidAmount);
        }
        return Ok(());
    }
    if body.quantity <= 0 {
        return Err(RejectReason::InvalidQuantity);
    }
    if body.quantity < min_lots {
        return Err(RejectReason::BelowMinimum);
    }
    terms
        .base_units(body.quantity)
        .ok_or(RejectReason::Overflow)?;
    if !market {
        terms
            .notional(body.price, body.quantity)
            .ok_or(RejectReason::Overflow)?;
    }
    Ok(())
}

impl Engine {
    fn plan_place(&self, user_id: u64, body: &PlaceOrder) -> Result<Plan, RejectReason> {
        self.require_user(user_id)?;
        let spec = self.market(body.market)?;
        self.require_trading(body.market)?;
        let terms = Terms::of(spec);
        let kinds = decode(body)?;
        check_sizes(body, &kinds, &terms, spec.min_lots)?;
        if body.client_order_id != [0; TEXT_LEN]
            && self
                .find_client_id(user_id, &body.client_order_id)
                .is_some()
        {
            return Err(RejectReason::DuplicateClientOrderId);
        }
        let limit = (kinds.order_type == OrderType::Limit).then_some(body.price);
        self.check_against_book(user_id, body, &kinds, limit)?;
        let by_quote = body.quote_quantity != 0;
        let lock = self.place_lock(user_id, body, &kinds, limit, &terms)?;
        let book = &self.books[body.market as usize];
        let lock_asset = self.lock_asset(body.market, kinds.side);
        if self.accounts.holding(user_id, lock_asset).available < lock {
            return Err(RejectReason::InsufficientBalance);
        }
        let may_rest = limit.is_some() && kinds.time_in_force == TimeInForce::Gtc;
        if may_rest && (self.arena.is_full() || !book.side(kinds.side).can_rest_at(body.price)) {
            return Err(RejectReason::CapacityFull);
        }
        let mut order = Order::new(self.next_order_id, kinds.side, body.price, body.quantity);
        order.user_id = user_id;
        order.market = body.market;
        order.client_order_id = body.client_order_id;
        order.stp = kinds.stp;
        order.post_only = kinds.post_only;
        order.locked = lock;
        if by_quote {
            order.remaining = i64::MAX;
        }
        Ok(Plan {
            order_type: kinds.order_type,
            time_in_force: kinds.time_in_force,
            limit,
            by_quote,
            lock_asset,
            lock,
            order,
        })
    }

    /// What the book says of the order before anything is locked: a market order needs the
    /// other side, a post-only order must not take, a fill-or-kill must fill at once.
    fn check_against_book(
        &self,
        user_id: u64,
        body: &PlaceOrder,
        kinds: &Kinds,
        limit: Option<i64>,
    ) -> Outcome {
        let other = self.books[body.market as usize].side(opposite(kinds.side));
        if limit.is_none() && other.is_empty() {
            return Err(RejectReason::NoLiquidity);
        }
        if kinds.post_only
            && other
                .best()
                .is_some_and(|best| crosses(kinds.side, limit, best.price))
        {
            return Err(RejectReason::PostOnlyWouldCross);
        }
        if kinds.time_in_force == TimeInForce::Fok {
            let walk = self.walk(
                body.market,
                kinds.side,
                limit,
                body.quantity,
                None,
                user_id,
                kinds.stp,
            )?;
            if walk.quantity < body.quantity {
                return Err(RejectReason::FokNotFillable);
            }
        }
        Ok(())
    }

    /// What the order locks: a market buy by quote its budget, a market buy by base the exact
    /// cost of walking the book, a limit buy price x quantity of quote, a sell its base.
    fn place_lock(
        &self,
        user_id: u64,
        body: &PlaceOrder,
        kinds: &Kinds,
        limit: Option<i64>,
        terms: &Terms,
    ) -> Result<i64, RejectReason> {
        let lock = match (kinds.side, limit) {
            (Side::Buy, None) if body.quote_quantity != 0 => body.quote_quantity,
            (Side::Buy, None) => {
                self.walk(
                    body.market,
                    Side::Buy,
                    None,
                    body.quantity,
                    None,
                    user_id,
                    kinds.stp,
                )?
                .cost
            }
            (side, _) => terms
                .limit_lock(side, body.price, body.quantity)
                .ok_or(RejectReason::Overflow)?,
        };
        Ok(lock)
    }

    /// PlaceOrder. Events: Balance (the lock), per fill the fill events, then BookDelta if
    /// the rest rests or Balance if the rest is unlocked, and last the order's OrderUpdate.
    pub(crate) fn place(&mut self, user_id: u64, body: &PlaceOrder, out: &mut Out) -> Outcome {
        let plan = self.plan_place(user_id, body)?;
        self.next_order_id += 1;
        self.accounts.lock(user_id, plan.lock_asset, plan.lock);
        self.emit_balance(user_id, plan.lock_asset, 0, out);
        let mut taker = Taker {
            order: plan.order,
            limit: plan.limit,
            by_quote: plan.by_quote,
            stopped_by_stp: false,
            budget_spent: false,
        };
        self.match_taker(&mut taker, out);
        let rests = plan.time_in_force == TimeInForce::Gtc && plan.limit.is_some();
        self.finish_taker(&mut taker, rests, plan.order_type, plan.time_in_force, out);
        Ok(())
    }

    /// After matching: rest the remainder (GTC limit, not stopped by self-trade prevention)
    /// or unlock it; then report the order's state.
    pub(crate) fn finish_taker(
        &mut self,
        taker: &mut Taker,
        may_rest: bool,
        order_type: OrderType,
        time_in_force: TimeInForce,
        out: &mut Out,
    ) {
        let order = &mut taker.order;
        let market = order.market;
        let status = if may_rest && order.remaining > 0 && !taker.stopped_by_stp {
            let slot = self.attach(*order);
            let change = self.books[market as usize].push_back(&mut self.arena, slot);
            self.emit_delta(market, &change, out);
            open_status(order)
        } else {
            let filled = if taker.by_quote {
                let budget_gone = taker.budget_spent || order.locked == 0;
                !taker.stopped_by_stp && order.executed_quantity > 0 && budget_gone
            } else {
                order.remaining == 0
            };
            let asset = self.lock_asset(market, order.side);
            if order.locked > 0 {
                self.accounts.unlock(order.user_id, asset, order.locked);
                order.locked = 0;
                self.emit_balance(order.user_id, asset, 0, out);
            }
            if filled {
                OrderStatus::Filled
            } else {
                OrderStatus::Expired
            }
        };
        let mut report = *order;
        if taker.by_quote {
            report.remaining = 0;
        }
        self.emit_order(&report, order_type, time_in_force, status, 0, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::CommandKind;
    use crate::test_fixture::{limit_order, run, two_users, BTC_USD};

    fn market_buy_by_quote(quote: i64) -> PlaceOrder {
        PlaceOrder {
            order_type: OrderType::Market as u8,
            time_in_force: TimeInForce::Ioc as u8,
            price: 0,
            quantity: 0,
            quote_quantity: quote,
            ..limit_order(Side::Buy, 0, 0)
        }
    }

    /// Every way a place command can be refused before anything changes, one row each.
    #[test]
    #[allow(clippy::too_many_lines)] // One row per refusal: the table is the test.
    fn what_a_place_command_must_carry_is_a_table_of_cases() {
        let (engine, alice, _) = two_users();
        let good = limit_order(Side::Buy, 100, 10);
        let cases: [(&str, PlaceOrder, RejectReason); 12] = [
            (
                "unknown side",
                PlaceOrder { side: 9, ..good },
                RejectReason::InvalidCommand,
            ),
            (
                "unknown type",
                PlaceOrder {
                    order_type: 9,
                    ..good
                },
                RejectReason::InvalidCommand,
            ),
            (
                "unknown tif",
                PlaceOrder {
                    time_in_force: 0,
                    ..good
                },
                RejectReason::InvalidCommand,
            ),
            (
                "unknown stp",
                PlaceOrder { stp: 9, ..good },
                RejectReason::InvalidCommand,
            ),
            (
                "unknown flag",
                PlaceOrder {
                    flags: 0x80,
                    ..good
                },
                RejectReason::InvalidCommand,
            ),
            (
                "post-only IOC",
                PlaceOrder {
                    flags: FLAG_POST_ONLY,
                    time_in_force: TimeInForce::Ioc as u8,
                    ..good
                },
                RejectReason::InvalidCommand,
            ),
            (
                "limit without price",
                PlaceOrder { price: 0, ..good },
                RejectReason::InvalidPrice,
            ),
            (
                "market with price",
                PlaceOrder {
                    price: 100,
                    ..market_buy_by_quote(500)
                },
                RejectReason::InvalidPrice,
            ),
            (
                "zero quantity",
                PlaceOrder {
                    quantity: 0,
                    ..good
                },
                RejectReason::InvalidQuantity,
            ),
            (
                "below minimum",
                PlaceOrder {
                    market: 1,
                    quantity: 4,
                    ..good
                },
                RejectReason::BelowMinimum,
            ),
            (
                "unknown market",
                PlaceOrder { market: 99, ..good },
                RejectReason::UnknownMarket,
            ),
            (
                "more than the balance",
                PlaceOrder {
                    quantity: 100_000,
                    ..good
                },
                RejectReason::InsufficientBalance,
            ),
        ];
        for (name, body, reason) in cases {
            assert_eq!(
                engine.plan_place(alice, &body).err(),
                Some(reason),
                "{name}"
            );
        }
        let plan = engine.plan_place(alice, &good).unwrap();
        assert_eq!(
            (plan.lock_asset, plan.lock),
            (crate::test_fixture::USD, 1_000),
            "a buy locks price x quantity of quote"
        );
    }

    #[test]
    fn a_market_buy_by_quote_locks_its_budget_and_a_sell_locks_its_base() {
        let (mut engine, alice, bob) = two_users();
        run(
            &mut engine,
            CommandKind::PlaceOrder,
            bob,
            &limit_order(Side::Sell, 100, 10),
        );
        let plan = engine.plan_place(alice, &market_buy_by_quote(700)).unwrap();
        assert!(plan.by_quote);
        assert_eq!(plan.lock, 700);
        let plan = engine
            .plan_place(alice, &limit_order(Side::Sell, 100, 30))
            .unwrap();
        assert_eq!((plan.lock_asset, plan.lock), (crate::test_fixture::BTC, 30));
    }

    #[test]
    fn a_post_only_order_that_would_take_is_refused_and_one_that_rests_is_placed() {
        let (mut engine, alice, bob) = two_users();
        run(
            &mut engine,
            CommandKind::PlaceOrder,
            alice,
            &limit_order(Side::Sell, 101, 10),
        );
        let crossing = PlaceOrder {
            flags: FLAG_POST_ONLY,
            ..limit_order(Side::Buy, 101, 10)
        };
        assert_eq!(
            engine.plan_place(bob, &crossing).err(),
            Some(RejectReason::PostOnlyWouldCross)
        );
        let resting = PlaceOrder {
            flags: FLAG_POST_ONLY,
            ..limit_order(Side::Buy, 100, 10)
        };
        assert!(engine.plan_place(bob, &resting).is_ok());
        assert_eq!(resting.market, BTC_USD);
    }
}

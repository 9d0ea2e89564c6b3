//! Full consistency check of the state: money is conserved and every book agrees with its
//! orders and every order with its owner's locks. Used after every command in debug builds
//! and by tests; allocates nothing unless it finds a fault.

use crate::arena::NIL;
use crate::book::OrderBook;
use crate::engine::Engine;
use crate::message::Side;
use crate::spot::Terms;

impl Engine {
    /// `Err` names the first broken invariant.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_conservation()?;
        self.check_user_locks()?;
        let mut booked = 0usize;
        for market in 0..self.books.len() as u32 {
            booked += self.check_book(market)?;
        }
        if booked != self.arena.len() {
            return Err(format!(
                "{booked} orders on books, {} in the pool",
                self.arena.len()
            ));
        }
        Ok(())
    }

    /// Per asset: sum of (available + locked) over users, plus fees, equals deposits minus
    /// withdrawals; no balance is negative.
    fn check_conservation(&self) -> Result<(), String> {
        let accounts = &self.accounts;
        for asset in 0..accounts.asset_count() as u32 {
            let mut held: i128 = accounts.fees(asset) as i128;
            for user_id in 1..=accounts.user_count() as u64 {
                let holding = accounts.holding(user_id, asset);
                if holding.available < 0 || holding.locked < 0 {
                    return Err(format!(
                        "user {user_id} asset {asset}: negative balance {holding:?}"
                    ));
                }
                held += holding.available as i128 + holding.locked as i128;
            }
            let net = accounts.deposited[asset as usize] - accounts.withdrawn[asset as usize];
            if held != net {
                return Err(format!(
                    "asset {asset}: users+fees hold {held}, deposits-withdrawals {net}"
                ));
            }
        }
        Ok(())
    }

    /// Each user's locked amount of each asset is exactly what its open orders hold.
    fn check_user_locks(&self) -> Result<(), String> {
        let mut listed = 0usize;
        for user_id in 1..=self.accounts.user_count() as u64 {
            for asset in 0..self.accounts.asset_count() as u32 {
                let mut held = 0i64;
                let mut slot = self.accounts.user(user_id).first_order;
                while slot != NIL {
                    let order = self.arena.get(slot);
                    if order.user_id != user_id {
                        return Err(format!("order {} listed under user {user_id}", order.id));
                    }
                    if self.lock_asset(order.market, order.side) == asset {
                        held += order.locked;
                        listed += 1;
                    }
                    slot = order.user_next;
                }
                let locked = self.accounts.holding(user_id, asset).locked;
                if locked != held {
                    return Err(format!(
                        "user {user_id} asset {asset}: locked {locked}, orders hold {held}"
                    ));
                }
            }
        }
        if listed != self.arena.len() {
            return Err(format!(
                "{listed} orders in user lists, {} in the pool",
                self.arena.len()
            ));
        }
        Ok(())
    }

    /// Levels strictly ordered, totals and counts match their queues, every order's lock
    /// matches its remaining quantity. Returns the number of orders on the book.
    fn check_book(&self, market: u32) -> Result<usize, String> {
        let terms = Terms::of(&self.table.markets[market as usize]);
        let book = &self.books[market as usize];
        let mut orders = 0usize;
        for side in [Side::Buy, Side::Sell] {
            let mut previous: Option<i64> = None;
            for level in book.side(side).iter_best_first() {
                let better = |a: i64, b: i64| if side == Side::Buy { a > b } else { a < b };
                if previous.is_some_and(|p| !better(p, level.price)) {
                    return Err(format!(
                        "market {market} {side:?}: levels out of order at {}",
                        level.price
                    ));
                }
                previous = Some(level.price);
                let (mut total, mut count) = (0i64, 0u32);
                for slot in OrderBook::queue(&self.arena, level) {
                    let order = self.arena.get(slot);
                    let expected = terms.limit_lock(side, order.price, order.remaining);
                    let in_level = book
                        .side(side)
                        .in_slot(order.level)
                        .is_some_and(|found| std::ptr::eq(found, level));
                    let fits = order.side == side
                        && order.price == level.price
                        && order.market == market
                        && in_level;
                    let sizes = order.remaining > 0
                        && order.remaining == order.quantity - order.executed_quantity;
                    if !fits || !sizes || expected != Some(order.locked) {
                        return Err(format!(
                            "market {market}: order {order:?} inconsistent with its level"
                        ));
                    }
                    total += order.remaining;
                    count += 1;
                }
                if total != level.quantity || count != level.count || count == 0 {
                    return Err(format!(
                        "market {market} {side:?} level {}: totals wrong",
                        level.price
                    ));
                }
                orders += count as usize;
            }
        }
        Ok(orders)
    }
}

//! Resting orders: one fixed pool of order records, addressed by slot, found by order id.

use crate::index::{mix64, FixedIndex};
use crate::message::{SelfTradePrevention, Side, TEXT_LEN};

/// "No slot": the end of an intrusive list.
pub const NIL: u32 = u32::MAX;

/// Stores `value` in a fixed pool: in a freed slot if there is one, else in a new one at the
/// end (pools are reserved at their capacity at start-up and callers check that capacity
/// first). Returns the slot.
pub(crate) fn store_in_pool<T>(pool: &mut Vec<T>, free: &mut Vec<u32>, value: T) -> u32 {
    match free.pop() {
        Some(slot) => {
            pool[slot as usize] = value;
            slot
        }
        None => {
            pool.push(value);
            (pool.len() - 1) as u32
        }
    }
}

/// A resting order. Queue links (`prev`/`next`) thread the orders of one price level in
/// time order; user links thread one user's open orders in placement order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Engine order id.
    pub id: u64,
    /// Owner.
    pub user_id: u64,
    /// Limit price in ticks.
    pub price: i64,
    /// Total quantity in lots (after amends).
    pub quantity: i64,
    /// Quantity still open, in lots.
    pub remaining: i64,
    /// Quantity filled so far, in lots.
    pub executed_quantity: i64,
    /// Quote units traded so far (before fees).
    pub executed_quote: i64,
    /// Funds this order still holds locked (quote for buys, base for sells).
    pub locked: i64,
    /// The client's order id (all zero = none).
    pub client_order_id: [u8; TEXT_LEN],
    /// Market id.
    pub market: u32,
    /// Side.
    pub side: Side,
    /// Self-trade prevention mode when this order is amended into a cross.
    pub stp: SelfTradePrevention,
    /// Post-only: an amend may not make it cross.
    pub post_only: bool,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) user_prev: u32,
    pub(crate) user_next: u32,
    /// Pool slot of the price level the order rests in ([`NIL`] off the book), so taking it
    /// out of its level needs no search.
    pub(crate) level: u32,
}

impl Order {
    /// Its ids and amounts as words, in the order the snapshot stores them and the state
    /// hash covers them (so the two cannot drift apart).
    pub(crate) fn words(&self) -> [u64; 8] {
        [
            self.id,
            self.user_id,
            self.price as u64,
            self.quantity as u64,
            self.remaining as u64,
            self.executed_quantity as u64,
            self.executed_quote as u64,
            self.locked as u64,
        ]
    }

    /// A fresh order with no links, nothing executed and nothing locked.
    pub fn new(id: u64, side: Side, price: i64, quantity: i64) -> Self {
        Self {
            id,
            user_id: 0,
            price,
            quantity,
            remaining: quantity,
            executed_quantity: 0,
            executed_quote: 0,
            locked: 0,
            client_order_id: [0; TEXT_LEN],
            market: 0,
            side,
            stp: SelfTradePrevention::ExpireTaker,
            post_only: false,
            prev: NIL,
            next: NIL,
            user_prev: NIL,
            user_next: NIL,
            level: NIL,
        }
    }
}

/// Fixed pool of orders with an id index. Slots are reused through a free stack.
#[derive(Clone, Debug)]
pub struct OrderArena {
    slots: Vec<Order>,
    free: Vec<u32>,
    by_id: FixedIndex,
    capacity: usize,
}

impl OrderArena {
    /// A pool for `capacity` orders; all memory is reserved here.
    pub fn new(capacity: usize) -> Self {
        assert!(capacity < NIL as usize, "order capacity too large");
        Self {
            slots: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
            by_id: FixedIndex::new(capacity),
            capacity,
        }
    }

    /// Orders stored.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when no order is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no more orders fit.
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// The slot of the order with this id.
    pub fn find(&self, id: u64) -> Option<u32> {
        self.by_id
            .find(mix64(id), |slot| self.slots[slot as usize].id == id)
    }

    /// Stores an order; `None` if the pool is full or the id is taken.
    pub fn insert(&mut self, order: Order) -> Option<u32> {
        if self.is_full() || self.find(order.id).is_some() {
            return None;
        }
        let slot = store_in_pool(&mut self.slots, &mut self.free, order);
        self.by_id.insert(mix64(order.id), slot);
        Some(slot)
    }

    /// Frees a slot and returns the order it held.
    pub fn remove(&mut self, slot: u32) -> Order {
        let order = self.slots[slot as usize];
        let removed = self.by_id.remove(mix64(order.id), |s| s == slot);
        assert_eq!(removed, Some(slot), "order {} not indexed", order.id);
        self.free.push(slot);
        order
    }

    /// The order in a live slot.
    pub fn get(&self, slot: u32) -> &Order {
        &self.slots[slot as usize]
    }

    /// The order in a live slot, mutable.
    pub fn get_mut(&mut self, slot: u32) -> &mut Order {
        &mut self.slots[slot as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_slot_is_reused_before_the_pool_grows() {
        let mut pool = Vec::with_capacity(4);
        let mut free = Vec::with_capacity(4);
        assert_eq!(store_in_pool(&mut pool, &mut free, 'a'), 0);
        assert_eq!(store_in_pool(&mut pool, &mut free, 'b'), 1);
        free.push(0);
        assert_eq!(store_in_pool(&mut pool, &mut free, 'c'), 0);
        assert_eq!(pool, ['c', 'b']);
        assert!(free.is_empty());
    }

    #[test]
    fn orders_are_found_by_id_and_the_pool_refuses_past_its_capacity() {
        let mut arena = OrderArena::new(2);
        let first = arena.insert(Order::new(10, Side::Buy, 100, 5)).unwrap();
        let second = arena.insert(Order::new(11, Side::Sell, 101, 6)).unwrap();
        assert_eq!(arena.insert(Order::new(12, Side::Buy, 99, 1)), None, "full");
        assert_eq!(
            (arena.find(10), arena.find(11), arena.find(12)),
            (Some(first), Some(second), None)
        );
        assert_eq!(arena.get(second).remaining, 6);
        assert_eq!(arena.remove(first).id, 10);
        assert_eq!(arena.find(10), None);
        assert_eq!(arena.len(), 1);
        let third = arena.insert(Order::new(12, Side::Buy, 99, 1)).unwrap();
        assert_eq!(third, first, "the freed slot serves the next order");
        assert!(arena.is_full());
    }

    #[test]
    fn an_id_already_stored_is_refused() {
        let mut arena = OrderArena::new(4);
        arena.insert(Order::new(10, Side::Buy, 100, 5)).unwrap();
        assert_eq!(arena.insert(Order::new(10, Side::Sell, 101, 1)), None);
        assert_eq!(arena.len(), 1);
        assert_eq!(arena.get(arena.find(10).unwrap()).side, Side::Buy);
    }

    #[test]
    fn a_new_order_is_unlinked_and_holds_nothing() {
        let order = Order::new(1, Side::Sell, 50, 7);
        assert_eq!(
            (
                order.prev,
                order.next,
                order.user_prev,
                order.user_next,
                order.level
            ),
            (NIL, NIL, NIL, NIL, NIL)
        );
        assert_eq!(
            (order.remaining, order.executed_quantity, order.locked),
            (7, 0, 0)
        );
    }
}

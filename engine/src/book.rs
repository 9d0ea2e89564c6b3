//! One market's order book: price levels per side, each a time-ordered queue of orders.
//!
//! Levels live in a sorted array per side with the best price last, so the hot operations
//! (take the best level, add near the top, remove the emptied best) touch the array's end.
//! The orders themselves live in an [`OrderArena`] the caller passes in, so one pool serves
//! every market. Every change to a level's total returns a [`LevelChange`] carrying the
//! book's next update id, which the engine publishes as a `BookDelta`.

use crate::arena::{store_in_pool, Order, OrderArena, NIL};
use crate::message::Side;

/// One price level: the total open quantity and the queue of orders at that price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Price in ticks.
    pub price: i64,
    /// Sum of the remaining quantity of its orders, in lots.
    pub quantity: i64,
    /// Number of orders.
    pub count: u32,
    head: u32,
    tail: u32,
}

/// A level's total after a change (quantity 0 = the level is gone) and the update id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelChange {
    /// Side of the level.
    pub side: Side,
    /// Price in ticks.
    pub price: i64,
    /// Total quantity afterwards, in lots.
    pub quantity: i64,
    /// The book's update id after this change (+1 per change).
    pub update_id: u64,
}

/// The levels of one side.
///
/// The level records live in a fixed pool and never move; the price order is kept apart,
/// in a sorted array of 8-byte prices (worst to best, best last) beside the pool slot of
/// each. A new or emptied level in the middle of the book then shifts 12 bytes per level
/// behind it instead of a 32-byte record, and the binary search reads only prices. A resting
/// order keeps its level's pool slot, so fills, reductions and cancels reach the level
/// without a search; only adding to a level and dropping an emptied one search.
#[derive(Clone, Debug)]
pub struct Levels {
    side: Side,
    /// Prices of the levels, worst to best.
    prices: Vec<i64>,
    /// `slots[i]` is the pool slot of the level at `prices[i]`.
    slots: Vec<u32>,
    /// Level records by slot; a slot not in `slots` is in `free`.
    pool: Vec<Level>,
    free: Vec<u32>,
    capacity: usize,
}

impl Levels {
    fn new(side: Side, capacity: usize) -> Self {
        Self {
            side,
            prices: Vec::with_capacity(capacity),
            slots: Vec::with_capacity(capacity),
            pool: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Where `price` is (Ok) or would go (Err) in the worst-to-best array.
    fn search(&self, price: i64) -> Result<usize, usize> {
        match self.side {
            Side::Buy => self.prices.binary_search(&price),
            Side::Sell => self.prices.binary_search_by(|other| price.cmp(other)),
        }
    }

    /// The best level.
    pub fn best(&self) -> Option<&Level> {
        self.slots.last().map(|&slot| &self.pool[slot as usize])
    }

    /// Levels best first.
    pub fn iter_best_first(&self) -> impl Iterator<Item = &Level> + '_ {
        self.slots
            .iter()
            .rev()
            .map(move |&slot| &self.pool[slot as usize])
    }

    /// The level at `price`.
    pub fn at(&self, price: i64) -> Option<&Level> {
        self.search(price)
            .ok()
            .map(|index| &self.pool[self.slots[index] as usize])
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.prices.len()
    }

    /// True when the side has no level.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// True if an order at `price` can rest without exceeding the level capacity.
    pub fn can_rest_at(&self, price: i64) -> bool {
        self.prices.len() < self.capacity || self.search(price).is_ok()
    }

    /// The side.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The pool slot of the level at `price`, opening an empty level there if there is none.
    fn open(&mut self, price: i64) -> u32 {
        let index = match self.search(price) {
            Ok(index) => return self.slots[index],
            Err(index) => index,
        };
        // The arrays were reserved at `capacity`, so none of these pushes reallocates.
        assert!(self.prices.len() < self.capacity, "level capacity");
        let level = Level {
            price,
            quantity: 0,
            count: 0,
            head: NIL,
            tail: NIL,
        };
        let slot = store_in_pool(&mut self.pool, &mut self.free, level);
        self.prices.insert(index, price);
        self.slots.insert(index, slot);
        slot
    }

    /// The level record in pool slot `slot`, if that slot holds a level now.
    pub(crate) fn in_slot(&self, slot: u32) -> Option<&Level> {
        let index = self.search(self.pool.get(slot as usize)?.price).ok()?;
        (self.slots[index] == slot).then(|| &self.pool[slot as usize])
    }

    /// Drops the (empty) level at `price`, which is in pool slot `slot`.
    fn close(&mut self, price: i64, slot: u32) {
        let index = self.search(price).expect("an emptied level is in the book");
        assert_eq!(self.slots[index], slot, "level {price} is in another slot");
        self.prices.remove(index);
        self.slots.remove(index);
        self.free.push(slot);
    }
}

/// True if a taker on `taker_side` with `limit` (None = market) may trade at `price`.
pub fn crosses(taker_side: Side, limit: Option<i64>, price: i64) -> bool {
    match (taker_side, limit) {
        (_, None) => true,
        (Side::Buy, Some(limit)) => price <= limit,
        (Side::Sell, Some(limit)) => price >= limit,
    }
}

/// The side a taker on `side` trades against.
pub fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

/// One market's book: bid and ask levels over orders held in an [`OrderArena`].
#[derive(Clone, Debug)]
pub struct OrderBook {
    bids: Levels,
    asks: Levels,
    update_id: u64,
}

impl OrderBook {
    /// An empty book allowing `max_levels` price levels per side.
    pub fn new(max_levels: usize) -> Self {
        Self {
            bids: Levels::new(Side::Buy, max_levels),
            asks: Levels::new(Side::Sell, max_levels),
            update_id: 0,
        }
    }

    /// One side's levels.
    pub fn side(&self, side: Side) -> &Levels {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Levels {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The id of the last change published.
    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    /// Restores the update id (snapshots).
    pub(crate) fn set_update_id(&mut self, update_id: u64) {
        self.update_id = update_id;
    }

    fn change(&mut self, side: Side, price: i64, quantity: i64) -> LevelChange {
        self.update_id += 1;
        LevelChange {
            side,
            price,
            quantity,
            update_id: self.update_id,
        }
    }

    /// The slot of the first order in time priority at the best level of `side`.
    pub fn front(&self, side: Side) -> Option<u32> {
        self.side(side).best().map(|level| level.head)
    }

    /// Appends the order in `slot` to the tail of its price level (creating the level).
    /// The caller checked `can_rest_at`; a full side is a broken invariant.
    pub fn push_back(&mut self, arena: &mut OrderArena, slot: u32) -> LevelChange {
        let (side, price, remaining) = {
            let order = arena.get(slot);
            (order.side, order.price, order.remaining)
        };
        assert!(remaining > 0 && price > 0, "resting order must be positive");
        let levels = self.side_mut(side);
        let at = levels.open(price);
        let level = &mut levels.pool[at as usize];
        let old_tail = level.tail;
        level.quantity += remaining;
        level.count += 1;
        level.tail = slot;
        if old_tail == NIL {
            level.head = slot;
        }
        let quantity = level.quantity;
        {
            let order = arena.get_mut(slot);
            order.prev = old_tail;
            order.next = NIL;
            order.level = at;
        }
        if old_tail != NIL {
            arena.get_mut(old_tail).next = slot;
        }
        self.change(side, price, quantity)
    }

    /// Takes the order out of its level's queue, subtracting its remaining quantity.
    pub fn remove(&mut self, arena: &mut OrderArena, slot: u32) -> LevelChange {
        let order = *arena.get(slot);
        let quantity = self.unlink(arena, &order, slot, order.remaining);
        self.change(order.side, order.price, quantity)
    }

    /// Lowers the order's remaining quantity by `by` lots; the order leaves the queue if
    /// nothing remains (its queue position is otherwise kept).
    pub fn reduce(&mut self, arena: &mut OrderArena, slot: u32, by: i64) -> LevelChange {
        let order = *arena.get(slot);
        assert!(by > 0 && by <= order.remaining, "reduce out of range");
        arena.get_mut(slot).remaining -= by;
        let quantity = if by == order.remaining {
            self.unlink(arena, &order, slot, by)
        } else {
            let levels = self.side_mut(order.side);
            let level = &mut levels.pool[order.level as usize];
            debug_assert_eq!(level.price, order.price, "order's level slot is stale");
            level.quantity -= by;
            level.quantity
        };
        self.change(order.side, order.price, quantity)
    }

    /// Unlinks `order` (a copy of `slot`'s record) from its queue, subtracting `quantity`;
    /// returns the level's new total.
    fn unlink(&mut self, arena: &mut OrderArena, order: &Order, slot: u32, quantity: i64) -> i64 {
        if order.prev != NIL {
            arena.get_mut(order.prev).next = order.next;
        }
        if order.next != NIL {
            arena.get_mut(order.next).prev = order.prev;
        }
        let levels = self.side_mut(order.side);
        let level = &mut levels.pool[order.level as usize];
        debug_assert_eq!(level.price, order.price, "order's level slot is stale");
        if level.head == slot {
            level.head = order.next;
        }
        if level.tail == slot {
            level.tail = order.prev;
        }
        level.quantity -= quantity;
        level.count -= 1;
        let total = level.quantity;
        if level.count == 0 {
            debug_assert_eq!(total, 0, "empty level with quantity");
            levels.close(order.price, order.level);
        }
        let order = arena.get_mut(slot);
        order.prev = NIL;
        order.next = NIL;
        order.level = NIL;
        total
    }

    /// Slots of one level's orders in time priority.
    pub fn queue<'a>(arena: &'a OrderArena, level: &Level) -> impl Iterator<Item = u32> + 'a {
        let mut slot = level.head;
        core::iter::from_fn(move || {
            if slot == NIL {
                return None;
            }
            let current = slot;
            slot = arena.get(current).next;
            Some(current)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book over its own arena, with orders placed at the tail of their levels.
    struct Fixture {
        arena: OrderArena,
        book: OrderBook,
    }

    impl Fixture {
        fn new(max_orders: usize, max_levels: usize) -> Self {
            Self {
                arena: OrderArena::new(max_orders),
                book: OrderBook::new(max_levels),
            }
        }

        fn add(&mut self, id: u64, side: Side, price: i64, quantity: i64) -> Option<u32> {
            if self.arena.is_full() || !self.book.side(side).can_rest_at(price) {
                return None;
            }
            let slot = self.arena.insert(Order::new(id, side, price, quantity))?;
            self.book.push_back(&mut self.arena, slot);
            Some(slot)
        }

        fn levels(&self, side: Side) -> Vec<(i64, i64)> {
            let levels = self.book.side(side).iter_best_first();
            levels.map(|level| (level.price, level.quantity)).collect()
        }

        fn queue(&self, side: Side, price: i64) -> Vec<u64> {
            let level = self.book.side(side).at(price).expect("a level");
            OrderBook::queue(&self.arena, level)
                .map(|slot| self.arena.get(slot).id)
                .collect()
        }
    }

    #[test]
    fn levels_sort_best_first_and_aggregate() {
        let mut fixture = Fixture::new(16, 8);
        fixture.add(1, Side::Buy, 100, 5).unwrap();
        fixture.add(2, Side::Buy, 102, 1).unwrap();
        fixture.add(3, Side::Buy, 100, 2).unwrap();
        fixture.add(4, Side::Sell, 105, 3).unwrap();
        fixture.add(5, Side::Sell, 104, 4).unwrap();
        assert_eq!(fixture.levels(Side::Buy), vec![(102, 1), (100, 7)]);
        assert_eq!(fixture.levels(Side::Sell), vec![(104, 4), (105, 3)]);
        assert_eq!(fixture.book.update_id(), 5);
        assert_eq!(fixture.queue(Side::Buy, 100), vec![1, 3]);
    }

    #[test]
    fn reduce_keeps_priority_and_removing_the_last_order_drops_the_level() {
        let mut fixture = Fixture::new(16, 8);
        let first = fixture.add(1, Side::Buy, 100, 5).unwrap();
        let second = fixture.add(2, Side::Buy, 100, 5).unwrap();
        let change = fixture.book.reduce(&mut fixture.arena, first, 4);
        assert_eq!((change.price, change.quantity), (100, 6));
        assert_eq!(fixture.book.front(Side::Buy), Some(first));
        assert_eq!(fixture.queue(Side::Buy, 100), vec![1, 2]);
        let change = fixture.book.reduce(&mut fixture.arena, first, 1);
        assert_eq!(change.quantity, 5, "the order left its queue");
        fixture.arena.remove(first);
        assert_eq!(fixture.book.front(Side::Buy), Some(second));
        let change = fixture.book.remove(&mut fixture.arena, second);
        assert_eq!((change.quantity, change.update_id), (0, 5));
        assert!(fixture.book.side(Side::Buy).is_empty());
        assert_eq!(fixture.book.front(Side::Buy), None);
    }

    #[test]
    fn full_pools_refuse() {
        let mut fixture = Fixture::new(2, 1);
        fixture.add(1, Side::Buy, 100, 1).unwrap();
        assert!(!fixture.book.side(Side::Buy).can_rest_at(99));
        assert_eq!(fixture.add(2, Side::Buy, 99, 1), None);
        fixture.add(2, Side::Buy, 100, 1).unwrap();
        assert_eq!(fixture.add(3, Side::Buy, 100, 1), None);
    }

    #[test]
    fn crossing_follows_the_taker_side_and_limit() {
        assert!(crosses(Side::Buy, Some(101), 100));
        assert!(!crosses(Side::Buy, Some(99), 100));
        assert!(crosses(Side::Sell, Some(100), 100));
        assert!(!crosses(Side::Sell, Some(101), 100));
        assert!(crosses(Side::Sell, None, 1));
        assert_eq!(opposite(Side::Buy), Side::Sell);
    }
}

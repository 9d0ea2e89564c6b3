//! The engine: all books and accounts, and `apply`, the one door commands come through.
//!
//! `apply` validates a command completely before it changes anything, so a rejected
//! command leaves the state (and its hash) untouched; then it executes, emitting events,
//! and always closes with exactly one `Done`.

use crate::accounts::Accounts;
use crate::arena::{Order, OrderArena, NIL};
use crate::book::{LevelChange, OrderBook};
use crate::config::{Capacity, MarketSpec, MarketTable};
use crate::counters::Counters;
use crate::index::{hash_bytes, FixedIndex};
use crate::message::{
    Balance, BookDelta, Command, CommandBody, CommandKind, Done, EventKind, MarketScope,
    OrderAddress, OrderStatus, OrderType, OrderUpdate, Reject, RejectReason, Side, TimeInForce,
    ALL_MARKETS, TEXT_LEN,
};
use crate::sink::{EventSink, Out};

const CLIENT_ID_SEED: u64 = 3;

/// The matching engine: every book, order and balance, owned by one thread.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) table: MarketTable,
    pub(crate) capacity: Capacity,
    pub(crate) books: Vec<OrderBook>,
    /// Per market: halted (see [`crate::admin`]).
    pub(crate) halted: Vec<bool>,
    pub(crate) arena: OrderArena,
    pub(crate) client_ids: FixedIndex,
    pub(crate) accounts: Accounts,
    pub(crate) last_sequence: u64,
    pub(crate) next_order_id: u64,
    pub(crate) next_trade_id: u64,
}

/// Result of the part of a command that may reject.
pub(crate) type Outcome = Result<(), RejectReason>;

impl Engine {
    /// An empty engine; every pool is allocated here and never grows.
    pub fn new(table: MarketTable, capacity: &Capacity) -> Engine {
        assert!(
            capacity.orders > 0 && capacity.price_levels > 0,
            "capacity must be positive"
        );
        let books: Vec<OrderBook> = table
            .markets
            .iter()
            .map(|_| OrderBook::new(capacity.price_levels))
            .collect();
        let accounts = Accounts::new(capacity.users, capacity.api_keys, table.assets.len());
        Engine {
            halted: vec![false; books.len()],
            books,
            arena: OrderArena::new(capacity.orders),
            client_ids: FixedIndex::new(capacity.orders),
            accounts,
            last_sequence: 0,
            next_order_id: 1,
            next_trade_id: 1,
            capacity: capacity.clone(),
            table,
        }
    }

    /// The markets and assets this engine trades.
    pub fn table(&self) -> &MarketTable {
        &self.table
    }

    /// The sequence of the last command that changed state (rejections and queries change
    /// nothing, so they do not move it).
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Accounts, for inspection.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// A market's book, for inspection.
    pub fn book(&self, market: u32) -> Option<&OrderBook> {
        self.books.get(market as usize)
    }

    /// Resting orders across all markets.
    pub fn open_order_count(&self) -> usize {
        self.arena.len()
    }

    /// The resting order with this engine id.
    pub fn order(&self, order_id: u64) -> Option<&Order> {
        self.arena.find(order_id).map(|slot| self.arena.get(slot))
    }

    /// The resting orders at `price` on `side` of a market's book, in time priority (for
    /// tools that compare the engine's queues with another exchange's, such as the LOBSTER
    /// check).
    pub fn level_orders(
        &self,
        market: u32,
        side: Side,
        price: i64,
    ) -> impl Iterator<Item = &Order> + '_ {
        let level = self
            .books
            .get(market as usize)
            .and_then(|book| book.side(side).at(price));
        level.into_iter().flat_map(move |level| {
            OrderBook::queue(&self.arena, level).map(move |slot| self.arena.get(slot))
        })
    }

    /// Applies one stamped command, emitting its events; always ends with one `Done`.
    pub fn apply(&mut self, command: &Command, sink: &mut impl EventSink) {
        self.apply_inner(command, sink);
    }

    /// [`Engine::apply`], also counting the command, its rejection and its events.
    pub fn apply_counted(
        &mut self,
        command: &Command,
        sink: &mut impl EventSink,
        counters: &Counters,
    ) {
        counters.record_command(command.head.kind);
        let (rejected, events) = self.apply_inner(command, sink);
        if let Some(reason) = rejected {
            counters.record_reject(reason);
        }
        counters.record_events(events as u64);
    }

    fn apply_inner(
        &mut self,
        command: &Command,
        sink: &mut dyn EventSink,
    ) -> (Option<RejectReason>, u32) {
        let mut out = Out::new(sink, &command.head);
        let outcome = self.dispatch(command, &mut out);
        let rejected = outcome.err();
        match rejected {
            None => {
                let kind = CommandKind::from_u8(command.head.kind);
                if kind.is_some_and(|kind| !kind.is_query()) {
                    self.last_sequence = command.head.sequence;
                }
            }
            Some(reason) => {
                let body = reject_body(command, reason);
                out.emit(EventKind::Rejected, command.head.user_id, 0, &body);
            }
        }
        let done = Done {
            event_count: out.count,
            rejected: rejected.is_some() as u8,
            reserved: [0; 3],
        };
        out.emit(EventKind::Done, command.head.user_id, 0, &done);
        #[cfg(debug_assertions)]
        if let Err(broken) = self.check_invariants() {
            panic!("invariant broken after command {command:?}: {broken}");
        }
        (rejected, out.count)
    }

    /// Decodes the body by the command table's row for its kind and runs the row's handler.
    fn dispatch(&mut self, command: &Command, out: &mut Out) -> Outcome {
        let body = CommandBody::decode(command).ok_or(RejectReason::InvalidCommand)?;
        body.apply(self, command.head.user_id, out)
    }

    pub(crate) fn market(&self, market: u32) -> Result<&MarketSpec, RejectReason> {
        self.table
            .markets
            .get(market as usize)
            .ok_or(RejectReason::UnknownMarket)
    }

    pub(crate) fn require_user(&self, user_id: u64) -> Outcome {
        if self.accounts.exists(user_id) {
            Ok(())
        } else {
            Err(RejectReason::UnknownUser)
        }
    }

    /// The next of the user's open orders in `scope`, oldest first, from `cursor` (which
    /// [`Self::first_order_in`] starts). The cursor moves past the order before it is
    /// returned, so the caller may end that order.
    pub(crate) fn next_order_in(&self, cursor: &mut u32, scope: &MarketScope) -> Option<u32> {
        while *cursor != NIL {
            let slot = *cursor;
            let order = self.arena.get(slot);
            *cursor = order.user_next;
            if scope.holds(order.market) {
                return Some(slot);
            }
        }
        None
    }

    /// A cursor at `user_id`'s oldest open order, after checking the user and the scope's
    /// market; [`Self::next_order_in`] walks it.
    pub(crate) fn first_order_in(
        &self,
        user_id: u64,
        scope: &MarketScope,
    ) -> Result<u32, RejectReason> {
        self.require_user(user_id)?;
        if scope.market != ALL_MARKETS {
            self.market(scope.market)?;
        }
        Ok(self.accounts.user(user_id).first_order)
    }

    /// The asset an order on `side` of `market` locks.
    pub(crate) fn lock_asset(&self, market: u32, side: Side) -> u32 {
        let spec = &self.table.markets[market as usize];
        match side {
            Side::Buy => spec.quote,
            Side::Sell => spec.base,
        }
    }

    /// The slot of the open order addressed by id or client id, owned by `user_id`.
    pub(crate) fn find_own_order(
        &self,
        user_id: u64,
        address: &OrderAddress,
    ) -> Result<u32, RejectReason> {
        self.require_user(user_id)?;
        if address.market != crate::message::ALL_MARKETS {
            self.market(address.market)?;
        }
        let slot = if address.order_id != 0 {
            self.arena.find(address.order_id)
        } else if address.client_order_id != [0; TEXT_LEN] {
            self.find_client_id(user_id, &address.client_order_id)
        } else {
            return Err(RejectReason::InvalidCommand);
        };
        let slot = slot.ok_or(RejectReason::UnknownOrder)?;
        let order = self.arena.get(slot);
        if order.user_id != user_id {
            return Err(RejectReason::NotOwner);
        }
        if address.market != crate::message::ALL_MARKETS && order.market != address.market {
            return Err(RejectReason::UnknownOrder);
        }
        Ok(slot)
    }

    pub(crate) fn find_client_id(&self, user_id: u64, client_id: &[u8; TEXT_LEN]) -> Option<u32> {
        self.client_ids
            .find(client_id_hash(user_id, client_id), |slot| {
                let order = self.arena.get(slot);
                order.user_id == user_id && order.client_order_id == *client_id
            })
    }

    /// Stores a resting order: pool, the owner's order list, the client id index.
    pub(crate) fn attach(&mut self, order: Order) -> u32 {
        let slot = self
            .arena
            .insert(order)
            .expect("order pool checked before matching");
        self.link_user(slot);
        if order.client_order_id != [0; TEXT_LEN] {
            self.client_ids
                .insert(client_id_hash(order.user_id, &order.client_order_id), slot);
        }
        slot
    }

    /// Forgets an order that already left its book; returns its record.
    pub(crate) fn detach(&mut self, slot: u32) -> Order {
        self.unlink_user(slot);
        let order = *self.arena.get(slot);
        if order.client_order_id != [0; TEXT_LEN] {
            let hash = client_id_hash(order.user_id, &order.client_order_id);
            let removed = self.client_ids.remove(hash, |s| s == slot);
            assert_eq!(
                removed,
                Some(slot),
                "client id of order {} not indexed",
                order.id
            );
        }
        self.arena.remove(slot)
    }

    /// Moves a stored order to the end of its owner's list, where [`Engine::detach`] then
    /// [`Engine::attach`] would put it, without leaving the pool or the indexes.
    pub(crate) fn requeue_user(&mut self, slot: u32) {
        self.unlink_user(slot);
        self.link_user(slot);
    }

    /// Appends the order in `slot` to its owner's list.
    fn link_user(&mut self, slot: u32) {
        let user_id = self.arena.get(slot).user_id;
        let user = self.accounts.user_mut(user_id);
        let last = user.last_order;
        user.last_order = slot;
        if last == NIL {
            user.first_order = slot;
        } else {
            self.arena.get_mut(last).user_next = slot;
        }
        let stored = self.arena.get_mut(slot);
        stored.user_prev = last;
        stored.user_next = NIL;
    }

    /// Takes the order in `slot` out of its owner's list.
    fn unlink_user(&mut self, slot: u32) {
        let order = *self.arena.get(slot);
        if order.user_prev != NIL {
            self.arena.get_mut(order.user_prev).user_next = order.user_next;
        }
        if order.user_next != NIL {
            self.arena.get_mut(order.user_next).user_prev = order.user_prev;
        }
        let user = self.accounts.user_mut(order.user_id);
        if user.first_order == slot {
            user.first_order = order.user_next;
        }
        if user.last_order == slot {
            user.last_order = order.user_prev;
        }
        let stored = self.arena.get_mut(slot);
        stored.user_prev = NIL;
        stored.user_next = NIL;
    }

    /// Takes a resting order off its book for good (cancel, self-trade expiry), unlocking
    /// what it held. Events: BookDelta, Balance, OrderUpdate.
    pub(crate) fn end_order(&mut self, slot: u32, status: OrderStatus, out: &mut Out) {
        let market = self.arena.get(slot).market;
        let change = self.books[market as usize].remove(&mut self.arena, slot);
        let order = self.detach(slot);
        let asset = self.lock_asset(market, order.side);
        self.accounts.unlock(order.user_id, asset, order.locked);
        self.emit_delta(market, &change, out);
        self.emit_balance(order.user_id, asset, 0, out);
        let ended = Order { locked: 0, ..order };
        self.emit_order(&ended, OrderType::Limit, TimeInForce::Gtc, status, 0, out);
    }

    pub(crate) fn emit_delta(&self, market: u32, change: &LevelChange, out: &mut Out) {
        let body = BookDelta {
            market,
            side: change.side as u8,
            reserved: [0; 3],
            price: change.price,
            quantity: change.quantity,
            update_id: change.update_id,
        };
        out.emit(EventKind::BookDelta, 0, 0, &body);
    }

    pub(crate) fn emit_balance(&self, user_id: u64, asset: u32, flags: u8, out: &mut Out) {
        let holding = self.accounts.holding(user_id, asset);
        let body = Balance {
            asset,
            reserved: 0,
            available: holding.available,
            locked: holding.locked,
        };
        out.emit(EventKind::Balance, user_id, flags, &body);
    }

    pub(crate) fn emit_order(
        &self,
        order: &Order,
        order_type: OrderType,
        time_in_force: TimeInForce,
        status: OrderStatus,
        flags: u8,
        out: &mut Out,
    ) {
        let body = OrderUpdate {
            market: order.market,
            side: order.side as u8,
            order_type: order_type as u8,
            time_in_force: time_in_force as u8,
            status: status as u8,
            order_id: order.id,
            price: order.price,
            quantity: order.quantity,
            executed_quantity: order.executed_quantity,
            executed_quote: order.executed_quote,
            client_order_id: order.client_order_id,
        };
        out.emit(EventKind::OrderUpdate, order.user_id, flags, &body);
    }
}

/// Status of an order that is still open.
pub(crate) fn open_status(order: &Order) -> OrderStatus {
    if order.executed_quantity > 0 {
        OrderStatus::PartiallyFilled
    } else {
        OrderStatus::New
    }
}

pub(crate) fn client_id_hash(user_id: u64, client_id: &[u8; TEXT_LEN]) -> u64 {
    hash_bytes(CLIENT_ID_SEED ^ user_id.rotate_left(17), client_id)
}

/// The reject event: the reason, and the order the command concerns (as its body says).
fn reject_body(command: &Command, reason: RejectReason) -> Reject {
    let mut body = Reject {
        reason: reason as u16,
        command_kind: command.head.kind,
        ..Default::default()
    };
    if let Some(decoded) = CommandBody::decode(command) {
        decoded.body().echo(&mut body);
    }
    body
}

//! Behaviour of the engine through `apply`, one case per order type, amend, STP mode, fee
//! and balance rule. Every rejection is checked to leave the state hash unchanged.
#![allow(clippy::too_many_lines)] // Tests opt out: a case reads top to bottom: set up, act, assert every balance.

use crate::config::Capacity;
use crate::engine::Engine;
use crate::message::*;
use crate::test_fixture::{small_capacity, table};

use crate::test_fixture::{BTC, BTC_USD, ETH, ETH_USD, USD};

/// Aggregated `(price, quantity)` levels, best first.
type Levels = Vec<(i64, i64)>;

struct Harness {
    engine: Engine,
    sequence: u64,
}

/// An order on BTC-USD, built by the helpers below and changed with struct-update syntax.
type Spec = PlaceOrder;

fn limit(side: Side, price: i64, quantity: i64) -> Spec {
    PlaceOrder::limit(BTC_USD, side, TimeInForce::Gtc, price, quantity)
}

fn market(side: Side, quantity: i64) -> Spec {
    PlaceOrder {
        order_type: OrderType::Market as u8,
        ..PlaceOrder::limit(BTC_USD, side, TimeInForce::Ioc, 0, quantity)
    }
}

impl PlaceOrder {
    fn tif(self, tif: TimeInForce) -> Self {
        Self {
            time_in_force: tif as u8,
            ..self
        }
    }
    fn stp(self, stp: SelfTradePrevention) -> Self {
        Self {
            stp: stp as u8,
            ..self
        }
    }
    fn cid(self, cid: &str) -> Self {
        Self {
            client_order_id: text_field(cid).unwrap(),
            ..self
        }
    }
}

impl Harness {
    fn new() -> Self {
        Self::with_capacity(&small_capacity())
    }

    fn with_capacity(capacity: &Capacity) -> Self {
        Self {
            engine: Engine::new(table(), capacity),
            sequence: 0,
        }
    }

    fn run<B: bytemuck::Pod>(&mut self, kind: CommandKind, user: u64, body: &B) -> Vec<Event> {
        let mut command = Command::from_user(kind, user, body);
        self.sequence += 1;
        command.head.request_id = self.sequence * 10;
        command.head.edge_id = 3;
        command.head.sequence = self.sequence;
        command.head.timestamp_ns = 1_000 + self.sequence;
        let mut events = Vec::new();
        self.engine.apply(&command, &mut events);
        let done = events.last().unwrap();
        assert_eq!(done.head.kind, EventKind::Done as u8);
        assert_eq!(done.body::<Done>().event_count as usize, events.len() - 1);
        assert_eq!(
            events
                .iter()
                .filter(|e| e.head.kind == EventKind::Done as u8)
                .count(),
            1
        );
        assert!(events
            .iter()
            .all(|e| e.head.request_id == command.head.request_id && e.head.edge_id == 3));
        self.engine.check_invariants().unwrap();
        events
    }

    /// Runs a command that must be rejected with `reason` and change nothing.
    fn reject<B: bytemuck::Pod>(
        &mut self,
        kind: CommandKind,
        user: u64,
        body: &B,
        reason: RejectReason,
    ) {
        let before = self.engine.state_hash();
        let events = self.run(kind, user, body);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].head.kind, EventKind::Rejected as u8);
        assert_eq!(
            RejectReason::from_u16(events[0].body::<Reject>().reason),
            Some(reason)
        );
        assert_eq!(events[1].body::<Done>().rejected, 1);
        assert_eq!(
            self.engine.state_hash(),
            before,
            "rejected command changed state"
        );
    }

    fn user(&mut self, name: &str) -> u64 {
        let body = CreateUser::named(name).unwrap();
        let events = self.run(CommandKind::CreateUser, 0, &body);
        events[0].body::<UserCreated>().user_id
    }

    fn deposit(&mut self, user: u64, asset: u32, amount: i64) {
        let events = self.run(CommandKind::Deposit, user, &Transfer::of(asset, amount));
        assert_eq!(events[0].head.kind, EventKind::Balance as u8);
    }

    fn funded(&mut self, name: &str) -> u64 {
        let user = self.user(name);
        for asset in [USD, BTC, ETH] {
            self.deposit(user, asset, 1_000_000);
        }
        user
    }

    fn body(spec: Spec, market: u32) -> PlaceOrder {
        PlaceOrder { market, ..spec }
    }

    fn place(&mut self, user: u64, spec: Spec) -> Vec<Event> {
        self.run(CommandKind::PlaceOrder, user, &Self::body(spec, BTC_USD))
    }

    fn place_reject(&mut self, user: u64, spec: Spec, reason: RejectReason) {
        self.reject(
            CommandKind::PlaceOrder,
            user,
            &Self::body(spec, BTC_USD),
            reason,
        );
    }

    /// Places and returns the final OrderUpdate of the placed order.
    fn placed(&mut self, user: u64, spec: Spec) -> OrderUpdate {
        let events = self.place(user, spec);
        last_update(&events)
    }

    fn holding(&self, user: u64, asset: u32) -> (i64, i64) {
        let holding = self.engine.accounts().holding(user, asset);
        (holding.available, holding.locked)
    }

    fn amend(&mut self, user: u64, order_id: u64, new_price: i64, new_quantity: i64) -> Vec<Event> {
        let body = AmendOrder {
            market: BTC_USD,
            reserved: 0,
            order_id,
            new_price,
            new_quantity,
        };
        self.run(CommandKind::AmendOrder, user, &body)
    }

    fn cancel(&mut self, user: u64, order_id: u64) -> Vec<Event> {
        let body = OrderAddress::by_id(ALL_MARKETS, order_id);
        self.run(CommandKind::CancelOrder, user, &body)
    }

    fn depth(&mut self, market: u32) -> (Levels, Levels) {
        let events = self.run(
            CommandKind::QueryDepth,
            0,
            &DepthRequest { market, limit: 0 },
        );
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        for event in of_kind(&events, EventKind::DepthLevel) {
            let level: BookDelta = event.body();
            let pair = (level.price, level.quantity);
            if level.side == Side::Buy as u8 {
                bids.push(pair)
            } else {
                asks.push(pair)
            }
        }
        (bids, asks)
    }
}

fn of_kind(events: &[Event], kind: EventKind) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.head.kind == kind as u8)
        .copied()
        .collect()
}

fn last_update(events: &[Event]) -> OrderUpdate {
    of_kind(events, EventKind::OrderUpdate)
        .last()
        .unwrap()
        .body()
}

fn status(update: &OrderUpdate) -> OrderStatus {
    [
        OrderStatus::New,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Canceled,
        OrderStatus::Expired,
    ]
    .into_iter()
    .find(|s| *s as u8 == update.status)
    .unwrap()
}

fn trades(events: &[Event]) -> Vec<(u64, i64, i64)> {
    of_kind(events, EventKind::Trade)
        .iter()
        .map(|e| {
            let t: Trade = e.body();
            (t.maker_order_id, t.price, t.quantity)
        })
        .collect()
}

#[test]
fn deposits_withdrawals_and_their_rejections() {
    let mut h = Harness::new();
    let alice = h.user("alice");
    h.deposit(alice, USD, 500);
    h.run(
        CommandKind::Withdraw,
        alice,
        &Transfer {
            asset: USD,
            reserved: 0,
            amount: 200,
            ..Default::default()
        },
    );
    assert_eq!(h.holding(alice, USD), (300, 0));
    let too_much = Transfer {
        asset: USD,
        reserved: 0,
        amount: 301,
        ..Default::default()
    };
    h.reject(
        CommandKind::Withdraw,
        alice,
        &too_much,
        RejectReason::InsufficientBalance,
    );
    h.reject(
        CommandKind::Deposit,
        alice,
        &Transfer {
            asset: 9,
            reserved: 0,
            amount: 1,
            ..Default::default()
        },
        RejectReason::UnknownAsset,
    );
    h.reject(
        CommandKind::Deposit,
        alice,
        &Transfer {
            asset: USD,
            reserved: 0,
            amount: 0,
            ..Default::default()
        },
        RejectReason::InvalidAmount,
    );
    h.reject(
        CommandKind::Deposit,
        99,
        &Transfer {
            asset: USD,
            reserved: 0,
            amount: 5,
            ..Default::default()
        },
        RejectReason::UnknownUser,
    );
    let huge = Transfer {
        asset: USD,
        reserved: 0,
        amount: i64::MAX,
        ..Default::default()
    };
    h.reject(CommandKind::Deposit, alice, &huge, RejectReason::Overflow);
    let name = CreateUser {
        username: text_field("alice").unwrap(),
        ..Default::default()
    };
    h.reject(CommandKind::CreateUser, 0, &name, RejectReason::UserExists);
    h.reject(
        CommandKind::CreateUser,
        0,
        &CreateUser::default(),
        RejectReason::InvalidCommand,
    );
    let mut unknown = Command::zeroed_kind(77);
    unknown.head.user_id = alice;
    let mut events = Vec::new();
    h.engine.apply(&unknown, &mut events);
    assert_eq!(
        events[0].body::<Reject>().reason,
        RejectReason::InvalidCommand as u16
    );
}

trait ZeroedKind {
    fn zeroed_kind(kind: u8) -> Self;
}

impl ZeroedKind for Command {
    fn zeroed_kind(kind: u8) -> Self {
        let mut command: Command = bytemuck::Zeroable::zeroed();
        command.head.kind = kind;
        command
    }
}

#[test]
fn limit_orders_lock_exactly_and_cancel_unlocks() {
    let mut h = Harness::new();
    let alice = h.funded("alice");
    let buy = h.placed(alice, limit(Side::Buy, 100, 30));
    assert_eq!(status(&buy), OrderStatus::New);
    assert_eq!(h.holding(alice, USD), (1_000_000 - 3_000, 3_000));
    let sell = h.placed(alice, limit(Side::Sell, 120, 7));
    assert_eq!(h.holding(alice, BTC), (1_000_000 - 7, 7));
    let events = h.cancel(alice, buy.order_id);
    let kinds: Vec<u8> = events.iter().map(|e| e.head.kind).collect();
    let expected = [
        EventKind::BookDelta,
        EventKind::Balance,
        EventKind::OrderUpdate,
        EventKind::Done,
    ];
    assert_eq!(kinds, expected.map(|k| k as u8));
    assert_eq!(status(&last_update(&events)), OrderStatus::Canceled);
    assert_eq!(h.holding(alice, USD), (1_000_000, 0));
    h.cancel(alice, sell.order_id);
    assert_eq!(h.holding(alice, BTC), (1_000_000, 0));
    let gone = OrderAddress::by_id(ALL_MARKETS, sell.order_id);
    h.reject(
        CommandKind::CancelOrder,
        alice,
        &gone,
        RejectReason::UnknownOrder,
    );
}

#[test]
fn order_validation_rejects_with_stable_reasons() {
    let mut h = Harness::new();
    let alice = h.funded("alice");
    h.place_reject(alice, limit(Side::Buy, 0, 5), RejectReason::InvalidPrice);
    h.place_reject(
        alice,
        limit(Side::Buy, 10, 0),
        RejectReason::InvalidQuantity,
    );
    h.place_reject(
        alice,
        limit(Side::Buy, 10_000, 101),
        RejectReason::InsufficientBalance,
    );
    h.place_reject(
        alice,
        limit(Side::Buy, i64::MAX / 2, 3),
        RejectReason::Overflow,
    );
    h.place_reject(
        alice,
        Spec {
            side: 9,
            ..limit(Side::Buy, 1, 1)
        },
        RejectReason::InvalidCommand,
    );
    h.place_reject(99, limit(Side::Buy, 10, 1), RejectReason::UnknownUser);
    let eth_small = Harness::body(limit(Side::Buy, 10, 4), ETH_USD);
    h.reject(
        CommandKind::PlaceOrder,
        alice,
        &eth_small,
        RejectReason::BelowMinimum,
    );
    let nowhere = Harness::body(limit(Side::Buy, 10, 4), 7);
    h.reject(
        CommandKind::PlaceOrder,
        alice,
        &nowhere,
        RejectReason::UnknownMarket,
    );
    h.place_reject(alice, market(Side::Buy, 5), RejectReason::NoLiquidity);
    h.placed(alice, limit(Side::Buy, 10, 1).cid("a"));
    h.place_reject(
        alice,
        limit(Side::Buy, 11, 1).cid("a"),
        RejectReason::DuplicateClientOrderId,
    );
    let post_ioc = Spec {
        flags: FLAG_POST_ONLY,
        ..limit(Side::Buy, 10, 1).tif(TimeInForce::Ioc)
    };
    h.place_reject(alice, post_ioc, RejectReason::InvalidCommand);
}

#[test]
fn matching_is_price_then_time_with_price_improvement_released() {
    let mut h = Harness::new();
    let (maker, taker) = (h.funded("maker"), h.funded("taker"));
    let a = h.placed(maker, limit(Side::Sell, 101, 10)).order_id;
    let b = h.placed(maker, limit(Side::Sell, 100, 10)).order_id;
    let c = h.placed(maker, limit(Side::Sell, 100, 10)).order_id;
    let events = h.place(taker, limit(Side::Buy, 105, 25));
    assert_eq!(
        trades(&events),
        vec![(b, 100, 10), (c, 100, 10), (a, 101, 5)]
    );
    let update = last_update(&events);
    assert_eq!(
        (
            status(&update),
            update.executed_quantity,
            update.executed_quote
        ),
        (OrderStatus::Filled, 25, 2_505)
    );
    // Locked 105 x 25, paid 2505: the improvement is available again, nothing stays locked.
    assert_eq!(h.holding(taker, USD), (1_000_000 - 2_505, 0));
    // The taker pays 20 bps of the 25 BTC units it receives (0.05 rounds down to 0).
    assert_eq!(h.holding(taker, BTC), (1_000_000 + 25, 0));
    let remaining = h.engine.order(a).unwrap();
    assert_eq!((remaining.remaining, remaining.locked), (5, 5));
    assert_eq!(h.depth(BTC_USD), (vec![], vec![(101, 5)]));
}

#[test]
fn fees_are_charged_in_the_received_asset_and_rounded_down() {
    let mut h = Harness::new();
    let (seller, buyer) = (h.funded("seller"), h.funded("buyer"));
    h.placed(seller, limit(Side::Sell, 999, 1_000));
    h.placed(buyer, limit(Side::Buy, 999, 1_000));
    // Buyer (taker, 20 bps) receives 1000 BTC units: fee 2. Seller (maker, 10 bps)
    // receives 999_000 USD units: fee 999.
    assert_eq!(h.holding(buyer, BTC), (1_000_000 + 1_000 - 2, 0));
    assert_eq!(h.holding(seller, USD), (1_000_000 + 999_000 - 999, 0));
    assert_eq!(h.engine.accounts().fees(BTC), 2);
    assert_eq!(h.engine.accounts().fees(USD), 999);
    let fills = of_kind(&h.place(seller, limit(Side::Sell, 7, 3)), EventKind::Fill);
    assert!(fills.is_empty());
    let events = h.place(buyer, market(Side::Buy, 3));
    let fills: Vec<Fill> = of_kind(&events, EventKind::Fill)
        .iter()
        .map(|e| e.body())
        .collect();
    // 21 USD units at 10 bps is 0.021: rounds down to 0; 3 BTC units at 20 bps: 0.
    assert_eq!(
        (fills[0].fee, fills[0].fee_asset, fills[0].is_maker),
        (0, USD, 1)
    );
    assert_eq!(
        (fills[1].fee, fills[1].fee_asset, fills[1].is_maker),
        (0, BTC, 0)
    );
    let users: Vec<u64> = of_kind(&events, EventKind::Fill)
        .iter()
        .map(|e| e.head.user_id)
        .collect();
    assert_eq!(users, vec![seller, buyer]);
}

#[test]
fn ioc_expires_the_remainder_and_fok_is_all_or_nothing() {
    let mut h = Harness::new();
    let (maker, taker) = (h.funded("maker"), h.funded("taker"));
    h.placed(maker, limit(Side::Buy, 50, 10));
    h.placed(maker, limit(Side::Buy, 49, 10));
    h.place_reject(
        taker,
        limit(Side::Sell, 50, 11).tif(TimeInForce::Fok),
        RejectReason::FokNotFillable,
    );
    let fok = h.placed(taker, limit(Side::Sell, 49, 15).tif(TimeInForce::Fok));
    assert_eq!(
        (status(&fok), fok.executed_quantity),
        (OrderStatus::Filled, 15)
    );
    let ioc = h.placed(taker, limit(Side::Sell, 49, 8).tif(TimeInForce::Ioc));
    assert_eq!(
        (status(&ioc), ioc.executed_quantity),
        (OrderStatus::Expired, 5)
    );
    assert_eq!(h.holding(taker, BTC), (1_000_000 - 20, 0));
    assert_eq!(h.engine.open_order_count(), 0);
}

#[test]
fn post_only_rests_or_is_rejected() {
    let mut h = Harness::new();
    let (maker, poster) = (h.funded("maker"), h.funded("poster"));
    h.placed(maker, limit(Side::Sell, 100, 5));
    let crossing = Spec {
        flags: FLAG_POST_ONLY,
        ..limit(Side::Buy, 100, 5)
    };
    h.place_reject(poster, crossing, RejectReason::PostOnlyWouldCross);
    let resting = h.placed(
        poster,
        Spec {
            flags: FLAG_POST_ONLY,
            ..limit(Side::Buy, 99, 5)
        },
    );
    assert_eq!(status(&resting), OrderStatus::New);
    let body = AmendOrder {
        market: BTC_USD,
        reserved: 0,
        order_id: resting.order_id,
        new_price: 100,
        new_quantity: 0,
    };
    h.reject(
        CommandKind::AmendOrder,
        poster,
        &body,
        RejectReason::PostOnlyWouldCross,
    );
}

#[test]
fn market_orders_by_quantity_and_by_quote_amount() {
    let mut h = Harness::new();
    let (maker, taker) = (h.funded("maker"), h.funded("taker"));
    h.placed(maker, limit(Side::Sell, 100, 10));
    h.placed(maker, limit(Side::Sell, 110, 10));
    // Spend 1590: 10 at 100 (1000), then 590 / 110 = 5 lots (550); 40 comes back.
    let by_quote = Spec {
        quote_quantity: 1_590,
        quantity: 0,
        ..market(Side::Buy, 0)
    };
    let events = h.place(taker, by_quote);
    assert_eq!(trades(&events).iter().map(|t| t.2).sum::<i64>(), 15);
    let update = last_update(&events);
    assert_eq!(
        (status(&update), update.executed_quote),
        (OrderStatus::Filled, 1_550)
    );
    assert_eq!(h.holding(taker, USD), (1_000_000 - 1_550, 0));
    // By base quantity: the exact cost is locked first; 6 lots wanted, only 5 left, so
    // the order fills 5 and the rest expires.
    let lock_event = h.place(taker, market(Side::Buy, 6));
    let lock: Balance = lock_event[0].body();
    assert_eq!(lock.locked, 550);
    assert_eq!(status(&last_update(&lock_event)), OrderStatus::Expired);
    assert_eq!(h.holding(taker, USD), (1_000_000 - 2_100, 0));
    // Market sell by quantity into bids.
    h.placed(maker, limit(Side::Buy, 90, 4));
    let sell = h.placed(taker, market(Side::Sell, 4));
    assert_eq!(
        (status(&sell), sell.executed_quote),
        (OrderStatus::Filled, 360)
    );
    // Not enough quote for the exact cost.
    let poor = h.user("poor");
    h.deposit(poor, USD, 100);
    h.placed(maker, limit(Side::Sell, 100, 2));
    h.place_reject(
        poor,
        market(Side::Buy, 2),
        RejectReason::InsufficientBalance,
    );
}

#[test]
fn cancel_by_client_id_cancel_all_and_ownership() {
    let mut h = Harness::new();
    let (alice, bob) = (h.funded("alice"), h.funded("bob"));
    let first = h.placed(alice, limit(Side::Buy, 10, 1).cid("one"));
    h.placed(alice, limit(Side::Buy, 11, 1));
    let eth = Harness::body(limit(Side::Sell, 50, 5), ETH_USD);
    h.run(CommandKind::PlaceOrder, alice, &eth);
    let not_yours = OrderAddress::by_id(ALL_MARKETS, first.order_id);
    h.reject(
        CommandKind::CancelOrder,
        bob,
        &not_yours,
        RejectReason::NotOwner,
    );
    let wrong_market = OrderAddress::by_id(ETH_USD, first.order_id);
    h.reject(
        CommandKind::CancelOrder,
        alice,
        &wrong_market,
        RejectReason::UnknownOrder,
    );
    let by_cid = OrderAddress::by_client_id(BTC_USD, "one").unwrap();
    h.reject(
        CommandKind::CancelOrder,
        bob,
        &by_cid,
        RejectReason::UnknownOrder,
    );
    let events = h.run(CommandKind::CancelOrder, alice, &by_cid);
    assert_eq!(last_update(&events).order_id, first.order_id);
    // The client id is free again once the order is gone.
    h.placed(alice, limit(Side::Buy, 9, 1).cid("one"));
    let events = h.run(CommandKind::CancelAll, alice, &MarketScope::of(BTC_USD));
    assert_eq!(of_kind(&events, EventKind::OrderUpdate).len(), 2);
    assert_eq!(h.engine.open_order_count(), 1);
    h.run(CommandKind::CancelAll, alice, &MarketScope::of(ALL_MARKETS));
    assert_eq!(h.engine.open_order_count(), 0);
    for asset in [USD, BTC, ETH] {
        assert_eq!(h.holding(alice, asset), (1_000_000, 0));
    }
}

#[test]
fn amend_down_keeps_priority_and_new_price_loses_it() {
    let mut h = Harness::new();
    let (alice, bob, taker) = (h.funded("alice"), h.funded("bob"), h.funded("taker"));
    let a = h.placed(alice, limit(Side::Buy, 100, 10)).order_id;
    let b = h.placed(bob, limit(Side::Buy, 100, 10)).order_id;
    let events = h.amend(alice, a, 0, 6);
    assert_eq!(
        of_kind(&events, EventKind::BookDelta)[0]
            .body::<BookDelta>()
            .quantity,
        16
    );
    assert_eq!(h.holding(alice, USD), (1_000_000 - 600, 600));
    let hit = h.place(taker, market(Side::Sell, 7));
    assert_eq!(trades(&hit), vec![(a, 100, 6), (b, 100, 1)]);
    // Bob moves away and back: now behind a new order from alice.
    h.amend(bob, b, 99, 0);
    let c = h.placed(alice, limit(Side::Buy, 100, 2)).order_id;
    h.amend(bob, b, 100, 0);
    let hit = h.place(taker, market(Side::Sell, 3));
    assert_eq!(trades(&hit), vec![(c, 100, 2), (b, 100, 1)]);
    let body = AmendOrder {
        market: BTC_USD,
        reserved: 0,
        order_id: b,
        new_price: 0,
        new_quantity: 11,
    };
    h.reject(
        CommandKind::AmendOrder,
        bob,
        &body,
        RejectReason::InvalidAmend,
    );
    let same = AmendOrder {
        new_price: 100,
        new_quantity: 0,
        ..body
    };
    h.reject(
        CommandKind::AmendOrder,
        bob,
        &same,
        RejectReason::InvalidAmend,
    );
    let at_filled = AmendOrder {
        new_price: 0,
        new_quantity: 2,
        ..body
    };
    h.reject(
        CommandKind::AmendOrder,
        bob,
        &at_filled,
        RejectReason::InvalidAmend,
    );
    let rich = AmendOrder {
        new_price: 10_000_000,
        new_quantity: 0,
        ..body
    };
    h.reject(
        CommandKind::AmendOrder,
        bob,
        &rich,
        RejectReason::InsufficientBalance,
    );
    h.reject(
        CommandKind::AmendOrder,
        alice,
        &AmendOrder {
            new_price: 98,
            ..body
        },
        RejectReason::NotOwner,
    );
}

#[test]
fn amend_into_a_cross_trades_and_rests_the_rest() {
    let mut h = Harness::new();
    let (maker, mover) = (h.funded("maker"), h.funded("mover"));
    let ask = h.placed(maker, limit(Side::Sell, 105, 4)).order_id;
    let bid = h.placed(mover, limit(Side::Buy, 100, 10)).order_id;
    let events = h.amend(mover, bid, 106, 0);
    assert_eq!(trades(&events), vec![(ask, 105, 4)]);
    let update = last_update(&events);
    assert_eq!(
        (update.order_id, status(&update), update.price),
        (bid, OrderStatus::PartiallyFilled, 106)
    );
    assert_eq!(h.depth(BTC_USD), (vec![(106, 6)], vec![]));
    // Locked: 6 x 106 for the rest; paid 4 x 105.
    assert_eq!(h.holding(mover, USD), (1_000_000 - 420 - 636, 636));
}

#[test]
fn self_trade_prevention_modes() {
    for (mode, maker_left, taker_status, taker_filled) in [
        (
            SelfTradePrevention::ExpireTaker,
            true,
            OrderStatus::Expired,
            2,
        ),
        (
            SelfTradePrevention::ExpireMaker,
            false,
            OrderStatus::Filled,
            5,
        ),
        (
            SelfTradePrevention::ExpireBoth,
            false,
            OrderStatus::Expired,
            2,
        ),
    ] {
        let mut h = Harness::new();
        let (alice, bob) = (h.funded("alice"), h.funded("bob"));
        h.placed(bob, limit(Side::Sell, 100, 2));
        let own = h.placed(alice, limit(Side::Sell, 101, 3)).order_id;
        h.placed(bob, limit(Side::Sell, 102, 3));
        let taker = h.placed(alice, limit(Side::Buy, 102, 5).stp(mode));
        assert_eq!(
            (status(&taker), taker.executed_quantity),
            (taker_status, taker_filled),
            "{mode:?}"
        );
        assert_eq!(h.engine.order(own).is_some(), maker_left, "{mode:?}");
        // The taker never rests after STP stopped it, and nothing stays locked.
        assert!(h.engine.order(taker.order_id).is_none());
        let locked_by_own = if maker_left { 3 } else { 0 };
        assert_eq!(h.holding(alice, BTC).1, locked_by_own);
        assert_eq!(h.holding(alice, USD).1, 0);
    }
}

#[test]
fn book_deltas_carry_absolute_quantities_and_consecutive_update_ids() {
    let mut h = Harness::new();
    let (maker, taker) = (h.funded("maker"), h.funded("taker"));
    let mut deltas = Vec::new();
    for events in [
        h.place(maker, limit(Side::Sell, 100, 3)),
        h.place(maker, limit(Side::Sell, 100, 4)),
        h.place(maker, limit(Side::Sell, 101, 1)),
        h.place(taker, limit(Side::Buy, 101, 5)),
    ] {
        deltas.extend(of_kind(&events, EventKind::BookDelta).iter().map(|e| {
            let d: BookDelta = e.body();
            (d.price, d.quantity, d.update_id)
        }));
    }
    assert_eq!(
        deltas,
        vec![
            (100, 3, 1),
            (100, 7, 2),
            (101, 1, 3),
            (100, 4, 4),
            (100, 2, 5)
        ]
    );
}

#[test]
fn queries_answer_without_changing_state() {
    let mut h = Harness::new();
    let (alice, bob) = (h.funded("alice"), h.funded("bob"));
    let order = h.placed(alice, limit(Side::Sell, 100, 5).cid("q"));
    h.placed(alice, limit(Side::Sell, 103, 5));
    h.placed(bob, limit(Side::Buy, 90, 1));
    let before = h.engine.state_hash();
    let by_cid = OrderAddress::by_client_id(BTC_USD, "q").unwrap();
    let events = h.run(CommandKind::QueryOrder, alice, &by_cid);
    assert_eq!(events[0].head.flags, FLAG_QUERY_ANSWER);
    assert_eq!(events[0].body::<OrderUpdate>().order_id, order.order_id);
    let quote = QuoteRequest {
        market: BTC_USD,
        side: Side::Buy as u8,
        quantity: 7,
        ..Default::default()
    };
    let answer: QuoteResult = h.run(CommandKind::QueryQuote, bob, &quote)[0].body();
    assert_eq!(
        (
            answer.fillable_quantity,
            answer.cost,
            answer.best_price,
            answer.worst_price
        ),
        (7, 706, 100, 103)
    );
    let by_quote = QuoteRequest {
        quantity: 0,
        quote_quantity: 600,
        ..quote
    };
    let answer: QuoteResult = h.run(CommandKind::QueryQuote, bob, &by_quote)[0].body();
    assert_eq!((answer.fillable_quantity, answer.cost), (5, 500));
    let balances = h.run(CommandKind::QueryBalances, alice, &MarketScope::default());
    assert_eq!(of_kind(&balances, EventKind::Balance).len(), 3);
    let open = h.run(
        CommandKind::QueryOpenOrders,
        alice,
        &MarketScope::of(ALL_MARKETS),
    );
    assert_eq!(of_kind(&open, EventKind::OrderUpdate).len(), 2);
    assert_eq!(h.depth(BTC_USD), (vec![(90, 1)], vec![(100, 5), (103, 5)]));
    let lookup = UserLookup {
        username: text_field("bob").unwrap(),
    };
    let info: CreateUser = h.run(CommandKind::QueryUser, 0, &lookup)[0].body();
    assert_eq!(info.user_id, bob);
    let key = ApiKey {
        key_id: [7; 16],
        secret_hash: [9; 32],
        ..Default::default()
    };
    h.run(CommandKind::CreateApiKey, bob, &key);
    h.reject(
        CommandKind::CreateApiKey,
        alice,
        &key,
        RejectReason::ApiKeyExists,
    );
    let found: ApiKey = h.run(
        CommandKind::QueryApiKey,
        0,
        &ApiKey {
            key_id: [7; 16],
            ..Default::default()
        },
    )[0]
    .body();
    assert_eq!((found.user_id, found.secret_hash), (bob, [9; 32]));
    let after_key = h.engine.state_hash();
    assert_ne!(after_key, before);
    h.reject(
        CommandKind::QueryApiKey,
        0,
        &ApiKey {
            key_id: [8; 16],
            ..Default::default()
        },
        RejectReason::UnknownApiKey,
    );
    let seq = h.engine.last_sequence();
    h.run(CommandKind::QueryBalances, alice, &MarketScope::default());
    assert_eq!(
        (h.engine.state_hash(), h.engine.last_sequence()),
        (after_key, seq)
    );
}

#[test]
fn full_pools_reject_with_capacity_full() {
    let capacity = Capacity {
        orders: 3,
        users: 3,
        price_levels: 2,
        api_keys: 1,
        depth_levels: 5,
    };
    let mut h = Harness::with_capacity(&capacity);
    let (alice, bob) = (h.funded("alice"), h.funded("bob"));
    h.placed(alice, limit(Side::Buy, 10, 1));
    h.placed(alice, limit(Side::Buy, 11, 1));
    h.place_reject(alice, limit(Side::Buy, 12, 1), RejectReason::CapacityFull);
    h.placed(alice, limit(Side::Buy, 11, 1));
    h.place_reject(bob, limit(Side::Sell, 50, 1), RejectReason::CapacityFull);
    // An IOC never rests, so it needs no slot.
    let ioc = h.placed(bob, limit(Side::Sell, 11, 1).tif(TimeInForce::Ioc));
    assert_eq!(status(&ioc), OrderStatus::Filled);
    h.user("carol");
    let dave = CreateUser {
        username: text_field("dave").unwrap(),
        ..Default::default()
    };
    h.reject(
        CommandKind::CreateUser,
        0,
        &dave,
        RejectReason::CapacityFull,
    );
    h.run(
        CommandKind::CreateApiKey,
        bob,
        &ApiKey {
            key_id: [1; 16],
            ..Default::default()
        },
    );
    h.reject(
        CommandKind::CreateApiKey,
        bob,
        &ApiKey {
            key_id: [2; 16],
            ..Default::default()
        },
        RejectReason::CapacityFull,
    );
}

#[test]
fn snapshot_round_trip_keeps_the_state_hash_and_behaviour() {
    let mut h = Harness::new();
    let (alice, bob) = (h.funded("alice"), h.funded("bob"));
    h.placed(alice, limit(Side::Sell, 100, 5).cid("x"));
    h.placed(bob, limit(Side::Sell, 100, 3));
    h.placed(alice, limit(Side::Buy, 90, 2));
    h.placed(bob, limit(Side::Buy, 101, 2));
    h.run(
        CommandKind::CreateApiKey,
        bob,
        &ApiKey {
            key_id: [1; 16],
            ..Default::default()
        },
    );
    let mut bytes = Vec::new();
    h.engine.write_snapshot(&mut bytes).unwrap();
    let restored =
        Engine::read_snapshot(&mut bytes.as_slice(), table(), &small_capacity()).unwrap();
    assert_eq!(restored.state_hash(), h.engine.state_hash());
    // Both continue identically.
    let mut twin = Harness {
        engine: restored,
        sequence: h.sequence,
    };
    let cid = OrderAddress::by_client_id(BTC_USD, "x").unwrap();
    let left = h.run(CommandKind::CancelOrder, alice, &cid);
    let right = twin.run(CommandKind::CancelOrder, alice, &cid);
    assert_eq!(left, right);
    assert_eq!(
        h.place(bob, market(Side::Buy, 4)),
        twin.place(bob, market(Side::Buy, 4))
    );
    assert_eq!(h.engine.state_hash(), twin.engine.state_hash());
    bytes[40] ^= 1;
    let damaged = Engine::read_snapshot(&mut bytes.as_slice(), table(), &small_capacity());
    assert_eq!(damaged.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn a_depth_answer_carries_the_books_update_id_even_when_the_book_is_empty() {
    let mut h = Harness::new();
    let alice = h.funded("alice");
    let update_id = |h: &mut Harness| {
        let events = h.run(
            CommandKind::QueryDepth,
            0,
            &DepthRequest {
                market: 0,
                limit: 0,
            },
        );
        let headers = of_kind(&events, EventKind::DepthSequence);
        assert_eq!(headers.len(), 1, "one header, first");
        assert_eq!(events[0].head.kind, EventKind::DepthSequence as u8);
        headers[0].body::<BookDelta>().update_id
    };
    assert_eq!(update_id(&mut h), 0, "an empty, untouched book");
    let order = h.placed(alice, limit(Side::Buy, 100, 1));
    h.cancel(alice, order.order_id);
    assert_eq!(h.depth(0), (vec![], vec![]));
    assert_eq!(update_id(&mut h), 2, "empty again, after two deltas");
}

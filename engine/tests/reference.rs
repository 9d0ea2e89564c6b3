//! The engine against a deliberately simple reference matcher: a flat list of open orders
//! searched linearly for the best price and earliest time, balances in plain vectors.
//! Random command sequences (several users, all markets, every order type, STP modes,
//! cancels, amends, deposits, withdrawals, queries) must give exactly the same events and
//! balances, and money must be conserved after every command.
#![allow(clippy::too_many_lines)] // Tests opt out: the reference matcher is deliberately flat and simple, not factored.

mod common;

use bytemuck::Pod;
use common::*;
use pinwheel_engine::config::{MarketSpec, MarketTable};
use pinwheel_engine::message::*;
use pinwheel_engine::Engine;
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
struct ROrder {
    id: u64,
    user: u64,
    market: u32,
    side: Side,
    price: i64,
    quantity: i64,
    remaining: i64,
    executed: i64,
    executed_quote: i64,
    locked: i64,
    cid: [u8; TEXT_LEN],
    stp: SelfTradePrevention,
    post_only: bool,
    /// Queue time: set when the order (re)enters a queue.
    time: u64,
}

struct Model {
    markets: Vec<MarketSpec>,
    users: Vec<[u8; 32]>,
    balances: Vec<Vec<(i64, i64)>>,
    fees: Vec<i64>,
    /// Open orders in owner-list order (placement order; an amended price moves to the end).
    orders: Vec<ROrder>,
    update_ids: Vec<u64>,
    next_order_id: u64,
    next_trade_id: u64,
    clock: u64,
    head: Head,
    events: Vec<Event>,
}

type R<T> = Result<T, RejectReason>;

fn other(side: Side) -> Side {
    if side == Side::Buy {
        Side::Sell
    } else {
        Side::Buy
    }
}

fn crosses(side: Side, limit: Option<i64>, price: i64) -> bool {
    match limit {
        None => true,
        Some(limit) => {
            if side == Side::Buy {
                price <= limit
            } else {
                price >= limit
            }
        }
    }
}

struct Taker {
    o: ROrder,
    limit: Option<i64>,
    by_quote: bool,
    stp_stopped: bool,
    budget_spent: bool,
}

impl Model {
    fn new(table: &MarketTable) -> Self {
        Model {
            markets: table.markets.clone(),
            users: Vec::new(),
            balances: Vec::new(),
            fees: vec![0; table.assets.len()],
            orders: Vec::new(),
            update_ids: vec![0; table.markets.len()],
            next_order_id: 1,
            next_trade_id: 1,
            clock: 0,
            head: Head::default(),
            events: Vec::new(),
        }
    }

    fn emit<B: Pod>(&mut self, kind: EventKind, user: u64, flags: u8, body: &B) {
        let mut event = Event::new(kind as u8, body);
        event.head = Head {
            kind: kind as u8,
            flags,
            user_id: user,
            reserved: 0,
            ..self.head
        };
        self.events.push(event);
    }

    fn bal(&mut self, user: u64, asset: u32) -> &mut (i64, i64) {
        &mut self.balances[user as usize - 1][asset as usize]
    }

    fn emit_balance(&mut self, user: u64, asset: u32) {
        let (available, locked) = *self.bal(user, asset);
        self.emit(
            EventKind::Balance,
            user,
            0,
            &Balance {
                asset,
                reserved: 0,
                available,
                locked,
            },
        );
    }

    fn lock_asset(&self, market: u32, side: Side) -> u32 {
        let spec = &self.markets[market as usize];
        if side == Side::Buy {
            spec.quote
        } else {
            spec.base
        }
    }

    fn emit_delta(&mut self, market: u32, side: Side, price: i64) {
        let quantity = self
            .orders
            .iter()
            .filter(|o| o.market == market && o.side == side && o.price == price)
            .map(|o| o.remaining)
            .sum();
        self.update_ids[market as usize] += 1;
        let update_id = self.update_ids[market as usize];
        let body = BookDelta {
            market,
            side: side as u8,
            reserved: [0; 3],
            price,
            quantity,
            update_id,
        };
        self.emit(EventKind::BookDelta, 0, 0, &body);
    }

    fn emit_order(
        &mut self,
        o: &ROrder,
        order_type: OrderType,
        tif: TimeInForce,
        status: OrderStatus,
        flags: u8,
    ) {
        let body = OrderUpdate {
            market: o.market,
            side: o.side as u8,
            order_type: order_type as u8,
            time_in_force: tif as u8,
            status: status as u8,
            order_id: o.id,
            price: o.price,
            quantity: o.quantity,
            executed_quantity: o.executed,
            executed_quote: o.executed_quote,
            client_order_id: o.cid,
        };
        self.emit(EventKind::OrderUpdate, o.user, flags, &body);
    }

    /// Makers of one side in priority order (indexes into `orders`).
    fn queue(&self, market: u32, side: Side) -> Vec<usize> {
        let mut makers: Vec<usize> = (0..self.orders.len())
            .filter(|&i| self.orders[i].market == market && self.orders[i].side == side)
            .collect();
        makers.sort_by_key(|&i| {
            let o = &self.orders[i];
            (if side == Side::Buy { -o.price } else { o.price }, o.time)
        });
        makers
    }

    fn open_status(o: &ROrder) -> OrderStatus {
        if o.executed > 0 {
            OrderStatus::PartiallyFilled
        } else {
            OrderStatus::New
        }
    }

    fn user_exists(&self, user: u64) -> R<()> {
        if user >= 1 && user as usize <= self.users.len() {
            Ok(())
        } else {
            Err(RejectReason::UnknownUser)
        }
    }

    /// (quantity, cost) a taker could get, walking like the matcher.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        market: u32,
        side: Side,
        limit: Option<i64>,
        max: i64,
        budget: Option<i64>,
        user: u64,
        stp: SelfTradePrevention,
    ) -> (i64, i64) {
        let qpt = self.markets[market as usize].quote_per_tick_lot;
        let (mut quantity, mut cost) = (0i64, 0i64);
        for i in self.queue(market, other(side)) {
            let maker = self.orders[i];
            if quantity == max || !crosses(side, limit, maker.price) {
                break;
            }
            if maker.user == user {
                if stp == SelfTradePrevention::ExpireMaker {
                    continue;
                } else {
                    break;
                }
            }
            let mut q = (max - quantity).min(maker.remaining);
            if let Some(budget) = budget {
                q = q.min((budget - cost) / (maker.price * qpt));
                if q == 0 {
                    break;
                }
            }
            quantity += q;
            cost += maker.price * q * qpt;
        }
        (quantity, cost)
    }

    fn end_order(&mut self, index: usize, status: OrderStatus) {
        let o = self.orders.remove(index);
        self.emit_delta(o.market, o.side, o.price);
        let asset = self.lock_asset(o.market, o.side);
        let b = self.bal(o.user, asset);
        b.0 += o.locked;
        b.1 -= o.locked;
        self.emit_balance(o.user, asset);
        self.emit_order(&o, OrderType::Limit, TimeInForce::Gtc, status, 0);
    }

    fn fee(amount: i64, bps: i64) -> i64 {
        (amount as i128 * bps as i128 / 10_000) as i64
    }

    fn fill(&mut self, t: &mut Taker, index: usize, q: i64) {
        let spec = self.markets[t.o.market as usize].clone();
        let mut maker = self.orders[index];
        let cost = maker.price * q * spec.quote_per_tick_lot;
        let base = q * spec.lot_units;
        let taker_release = match (t.o.side, t.limit) {
            (Side::Buy, Some(limit)) => limit * q * spec.quote_per_tick_lot,
            (Side::Buy, None) => cost,
            (Side::Sell, _) => base,
        };
        let maker_release = if maker.side == Side::Buy { cost } else { base };
        let (buyer, seller, buyer_release) = if t.o.side == Side::Buy {
            (t.o.user, maker.user, taker_release)
        } else {
            (maker.user, t.o.user, cost)
        };
        let (buyer_bps, seller_bps) = if t.o.side == Side::Buy {
            (spec.taker_fee_bps, spec.maker_fee_bps)
        } else {
            (spec.maker_fee_bps, spec.taker_fee_bps)
        };
        let (buyer_fee, seller_fee) = (Self::fee(base, buyer_bps), Self::fee(cost, seller_bps));
        let bq = self.bal(buyer, spec.quote);
        bq.1 -= buyer_release;
        bq.0 += buyer_release - cost;
        self.bal(buyer, spec.base).0 += base - buyer_fee;
        self.bal(seller, spec.base).1 -= base;
        self.bal(seller, spec.quote).0 += cost - seller_fee;
        self.fees[spec.base as usize] += buyer_fee;
        self.fees[spec.quote as usize] += seller_fee;
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        maker.remaining -= q;
        maker.locked -= maker_release;
        maker.executed += q;
        maker.executed_quote += cost;
        t.o.locked -= taker_release;
        t.o.remaining -= q;
        t.o.executed += q;
        t.o.executed_quote += cost;
        if maker.remaining == 0 {
            self.orders.remove(index);
        } else {
            self.orders[index] = maker;
        }
        let trade = Trade {
            market: t.o.market,
            taker_side: t.o.side as u8,
            reserved: [0; 3],
            trade_id,
            price: maker.price,
            quantity: q,
            maker_order_id: maker.id,
            taker_order_id: t.o.id,
            maker_user_id: maker.user,
            taker_user_id: t.o.user,
        };
        self.emit(EventKind::Trade, 0, 0, &trade);
        let (maker_fee, taker_fee) = if maker.side == Side::Buy {
            (buyer_fee, seller_fee)
        } else {
            (seller_fee, buyer_fee)
        };
        for (o, is_maker, fee) in [(maker, true, maker_fee), (t.o, false, taker_fee)] {
            let body = Fill {
                market: o.market,
                side: o.side as u8,
                is_maker: is_maker as u8,
                reserved: 0,
                trade_id,
                order_id: o.id,
                counter_order_id: if is_maker { t.o.id } else { maker.id },
                price: maker.price,
                quantity: q,
                fee,
                fee_asset: if o.side == Side::Buy {
                    spec.base
                } else {
                    spec.quote
                },
                reserved2: 0,
            };
            self.emit(EventKind::Fill, o.user, 0, &body);
        }
        self.emit_delta(maker.market, maker.side, maker.price);
        let status = if maker.remaining == 0 {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        self.emit_order(&maker, OrderType::Limit, TimeInForce::Gtc, status, 0);
        for user in [maker.user, t.o.user] {
            self.emit_balance(user, spec.base);
            self.emit_balance(user, spec.quote);
        }
    }

    fn match_taker(&mut self, t: &mut Taker) {
        let qpt = self.markets[t.o.market as usize].quote_per_tick_lot;
        while t.o.remaining > 0 {
            let Some(&index) = self.queue(t.o.market, other(t.o.side)).first() else {
                break;
            };
            let maker = self.orders[index];
            if !crosses(t.o.side, t.limit, maker.price) {
                break;
            }
            if maker.user == t.o.user {
                match t.o.stp {
                    SelfTradePrevention::ExpireTaker => {}
                    _ => self.end_order(index, OrderStatus::Expired),
                }
                if t.o.stp != SelfTradePrevention::ExpireMaker {
                    t.stp_stopped = true;
                    break;
                }
                continue;
            }
            let mut q = t.o.remaining.min(maker.remaining);
            if t.by_quote {
                q = q.min(t.o.locked / (maker.price * qpt));
                if q == 0 {
                    t.budget_spent = true;
                    break;
                }
            }
            self.fill(t, index, q);
        }
    }

    fn finish(&mut self, t: &mut Taker, may_rest: bool, order_type: OrderType, tif: TimeInForce) {
        let status = if may_rest && t.o.remaining > 0 && !t.stp_stopped {
            self.clock += 1;
            t.o.time = self.clock;
            self.orders.push(t.o);
            self.emit_delta(t.o.market, t.o.side, t.o.price);
            Self::open_status(&t.o)
        } else {
            let filled = if t.by_quote {
                !t.stp_stopped && t.o.executed > 0 && (t.budget_spent || t.o.locked == 0)
            } else {
                t.o.remaining == 0
            };
            let asset = self.lock_asset(t.o.market, t.o.side);
            if t.o.locked > 0 {
                let locked = t.o.locked;
                let b = self.bal(t.o.user, asset);
                b.0 += locked;
                b.1 -= locked;
                t.o.locked = 0;
                self.emit_balance(t.o.user, asset);
            }
            if filled {
                OrderStatus::Filled
            } else {
                OrderStatus::Expired
            }
        };
        let mut report = t.o;
        if t.by_quote {
            report.remaining = 0;
        }
        self.emit_order(&report, order_type, tif, status, 0);
    }

    fn place(&mut self, user: u64, b: &PlaceOrder) -> R<()> {
        self.user_exists(user)?;
        let spec = self
            .markets
            .get(b.market as usize)
            .ok_or(RejectReason::UnknownMarket)?
            .clone();
        let side = match b.side {
            1 => Side::Buy,
            2 => Side::Sell,
            _ => return Err(RejectReason::InvalidCommand),
        };
        let is_market = match b.order_type {
            1 => false,
            2 => true,
            _ => return Err(RejectReason::InvalidCommand),
        };
        let tif = match b.time_in_force {
            1 => TimeInForce::Gtc,
            2 => TimeInForce::Ioc,
            3 => TimeInForce::Fok,
            _ => return Err(RejectReason::InvalidCommand),
        };
        let stp = match b.stp {
            0 | 1 => SelfTradePrevention::ExpireTaker,
            2 => SelfTradePrevention::ExpireMaker,
            3 => SelfTradePrevention::ExpireBoth,
            _ => return Err(RejectReason::InvalidCommand),
        };
        let post_only = b.flags == FLAG_POST_ONLY;
        if b.flags > 1 || (post_only && (is_market || tif != TimeInForce::Gtc)) {
            return Err(RejectReason::InvalidCommand);
        }
        let by_quote = b.quote_quantity != 0;
        if by_quote && tif == TimeInForce::Fok {
            return Err(RejectReason::InvalidCommand);
        }
        if (is_market && b.price != 0) || (!is_market && b.price <= 0) {
            return Err(RejectReason::InvalidPrice);
        }
        if by_quote {
            if !is_market || side == Side::Sell || b.quantity != 0 {
                return Err(RejectReason::InvalidQuantity);
            }
            if b.quote_quantity < 0 {
                return Err(RejectReason::InvalidAmount);
            }
        } else if b.quantity <= 0 {
            return Err(RejectReason::InvalidQuantity);
        } else if b.quantity < spec.min_lots {
            return Err(RejectReason::BelowMinimum);
        }
        if b.client_order_id != [0; TEXT_LEN]
            && self
                .orders
                .iter()
                .any(|o| o.user == user && o.cid == b.client_order_id)
        {
            return Err(RejectReason::DuplicateClientOrderId);
        }
        let limit = (!is_market).then_some(b.price);
        let opposite = self.queue(b.market, other(side));
        if is_market && opposite.is_empty() {
            return Err(RejectReason::NoLiquidity);
        }
        if post_only
            && opposite
                .first()
                .is_some_and(|&i| crosses(side, limit, self.orders[i].price))
        {
            return Err(RejectReason::PostOnlyWouldCross);
        }
        if tif == TimeInForce::Fok
            && self
                .walk(b.market, side, limit, b.quantity, None, user, stp)
                .0
                < b.quantity
        {
            return Err(RejectReason::FokNotFillable);
        }
        let lock = match (side, limit) {
            (Side::Buy, None) if by_quote => b.quote_quantity,
            (Side::Buy, None) => {
                self.walk(b.market, side, None, b.quantity, None, user, stp)
                    .1
            }
            (Side::Buy, Some(price)) => price * b.quantity * spec.quote_per_tick_lot,
            (Side::Sell, _) => b.quantity * spec.lot_units,
        };
        let asset = self.lock_asset(b.market, side);
        if self.bal(user, asset).0 < lock {
            return Err(RejectReason::InsufficientBalance);
        }
        let id = self.next_order_id;
        self.next_order_id += 1;
        let bal = self.bal(user, asset);
        bal.0 -= lock;
        bal.1 += lock;
        self.emit_balance(user, asset);
        let o = ROrder {
            id,
            user,
            market: b.market,
            side,
            price: b.price,
            quantity: b.quantity,
            remaining: if by_quote { i64::MAX } else { b.quantity },
            executed: 0,
            executed_quote: 0,
            locked: lock,
            cid: b.client_order_id,
            stp,
            post_only,
            time: 0,
        };
        let mut t = Taker {
            o,
            limit,
            by_quote,
            stp_stopped: false,
            budget_spent: false,
        };
        self.match_taker(&mut t);
        let order_type = if is_market {
            OrderType::Market
        } else {
            OrderType::Limit
        };
        self.finish(
            &mut t,
            limit.is_some() && tif == TimeInForce::Gtc,
            order_type,
            tif,
        );
        Ok(())
    }

    fn find(&self, user: u64, market: u32, id: u64, cid: &[u8; TEXT_LEN]) -> R<usize> {
        self.user_exists(user)?;
        if market != ALL_MARKETS && market as usize >= self.markets.len() {
            return Err(RejectReason::UnknownMarket);
        }
        let index = if id != 0 {
            self.orders.iter().position(|o| o.id == id)
        } else if *cid != [0; TEXT_LEN] {
            self.orders
                .iter()
                .position(|o| o.user == user && o.cid == *cid)
        } else {
            return Err(RejectReason::InvalidCommand);
        };
        let index = index.ok_or(RejectReason::UnknownOrder)?;
        if self.orders[index].user != user {
            return Err(RejectReason::NotOwner);
        }
        if market != ALL_MARKETS && self.orders[index].market != market {
            return Err(RejectReason::UnknownOrder);
        }
        Ok(index)
    }

    fn amend(&mut self, user: u64, b: &AmendOrder) -> R<()> {
        if b.order_id == 0 {
            return Err(RejectReason::InvalidCommand);
        }
        let index = self.find(user, b.market, b.order_id, &[0; TEXT_LEN])?;
        let o = self.orders[index];
        if b.new_price < 0 {
            return Err(RejectReason::InvalidPrice);
        }
        if b.new_quantity < 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        let price = if b.new_price == 0 {
            o.price
        } else {
            b.new_price
        };
        let quantity = if b.new_quantity == 0 {
            o.quantity
        } else {
            b.new_quantity
        };
        if (price == o.price && quantity == o.quantity)
            || quantity > o.quantity
            || quantity <= o.executed
        {
            return Err(RejectReason::InvalidAmend);
        }
        let spec = self.markets[o.market as usize].clone();
        let remaining = quantity - o.executed;
        let lock = if o.side == Side::Buy {
            price * remaining * spec.quote_per_tick_lot
        } else {
            remaining * spec.lot_units
        };
        if price != o.price && o.post_only {
            let best = self
                .queue(o.market, other(o.side))
                .first()
                .map(|&i| self.orders[i].price);
            if best.is_some_and(|best| crosses(o.side, Some(price), best)) {
                return Err(RejectReason::PostOnlyWouldCross);
            }
        }
        let asset = self.lock_asset(o.market, o.side);
        if lock - o.locked > self.bal(user, asset).0 {
            return Err(RejectReason::InsufficientBalance);
        }
        let mut amended = ROrder {
            price,
            quantity,
            remaining,
            locked: lock,
            ..o
        };
        if price != o.price {
            self.orders.remove(index);
        } else {
            self.orders[index] = amended;
        }
        self.emit_delta(o.market, o.side, o.price);
        if lock != o.locked {
            let b = self.bal(user, asset);
            b.0 -= lock - o.locked;
            b.1 += lock - o.locked;
            self.emit_balance(user, asset);
        }
        if price == o.price {
            self.emit_order(
                &amended,
                OrderType::Limit,
                TimeInForce::Gtc,
                Self::open_status(&amended),
                0,
            );
            return Ok(());
        }
        amended.time = 0;
        let mut t = Taker {
            o: amended,
            limit: Some(price),
            by_quote: false,
            stp_stopped: false,
            budget_spent: false,
        };
        self.match_taker(&mut t);
        self.finish(&mut t, true, OrderType::Limit, TimeInForce::Gtc);
        Ok(())
    }

    fn transfer(&mut self, user: u64, b: &Transfer, deposit: bool) -> R<()> {
        self.user_exists(user)?;
        if b.asset as usize >= self.fees.len() {
            return Err(RejectReason::UnknownAsset);
        }
        if b.amount <= 0 {
            return Err(RejectReason::InvalidAmount);
        }
        if !deposit && self.bal(user, b.asset).0 < b.amount {
            return Err(RejectReason::InsufficientBalance);
        }
        self.bal(user, b.asset).0 += if deposit { b.amount } else { -b.amount };
        self.emit_balance(user, b.asset);
        Ok(())
    }

    fn scope(&self, user: u64, market: u32) -> R<Vec<ROrder>> {
        self.user_exists(user)?;
        if market != ALL_MARKETS && market as usize >= self.markets.len() {
            return Err(RejectReason::UnknownMarket);
        }
        Ok(self
            .orders
            .iter()
            .filter(|o| o.user == user && (market == ALL_MARKETS || o.market == market))
            .copied()
            .collect())
    }

    fn dispatch(&mut self, c: &Command) -> R<()> {
        let user = c.head.user_id;
        match CommandKind::from_u8(c.head.kind).unwrap() {
            CommandKind::CreateUser => {
                let b: CreateUser = c.body();
                if self.users.contains(&b.username) {
                    return Err(RejectReason::UserExists);
                }
                self.users.push(b.username);
                self.balances.push(vec![(0, 0); self.fees.len()]);
                let id = self.users.len() as u64;
                self.emit(
                    EventKind::UserCreated,
                    id,
                    0,
                    &UserCreated {
                        user_id: id,
                        username: b.username,
                    },
                );
                Ok(())
            }
            CommandKind::Deposit => self.transfer(user, &c.body(), true),
            CommandKind::Withdraw => self.transfer(user, &c.body(), false),
            CommandKind::PlaceOrder => self.place(user, &c.body()),
            CommandKind::AmendOrder => self.amend(user, &c.body()),
            CommandKind::CancelOrder => {
                let b: OrderAddress = c.body();
                let index = self.find(user, b.market, b.order_id, &b.client_order_id)?;
                self.end_order(index, OrderStatus::Canceled);
                Ok(())
            }
            CommandKind::CancelAll => {
                let b: MarketScope = c.body();
                for o in self.scope(user, b.market)? {
                    let index = self.orders.iter().position(|x| x.id == o.id).unwrap();
                    self.end_order(index, OrderStatus::Canceled);
                }
                Ok(())
            }
            CommandKind::QueryOpenOrders => {
                let b: MarketScope = c.body();
                for o in self.scope(user, b.market)? {
                    self.emit_order(
                        &o,
                        OrderType::Limit,
                        TimeInForce::Gtc,
                        Self::open_status(&o),
                        FLAG_QUERY_ANSWER,
                    );
                }
                Ok(())
            }
            CommandKind::QueryDepth => {
                let b: DepthRequest = c.body();
                let header = BookDelta {
                    market: b.market,
                    update_id: self.update_ids[b.market as usize],
                    ..Default::default()
                };
                self.emit(EventKind::DepthSequence, 0, FLAG_QUERY_ANSWER, &header);
                for side in [Side::Buy, Side::Sell] {
                    let mut prices: Vec<i64> = Vec::new();
                    for i in self.queue(b.market, side) {
                        if prices.last() != Some(&self.orders[i].price) {
                            prices.push(self.orders[i].price);
                        }
                    }
                    for price in prices.into_iter().take(b.limit as usize) {
                        let quantity = self
                            .orders
                            .iter()
                            .filter(|o| o.market == b.market && o.side == side && o.price == price)
                            .map(|o| o.remaining)
                            .sum();
                        let update_id = self.update_ids[b.market as usize];
                        let level = BookDelta {
                            market: b.market,
                            side: side as u8,
                            reserved: [0; 3],
                            price,
                            quantity,
                            update_id,
                        };
                        self.emit(EventKind::DepthLevel, 0, FLAG_QUERY_ANSWER, &level);
                    }
                }
                Ok(())
            }
            other => panic!("the reference does not model {other:?}"),
        }
    }

    fn apply(&mut self, c: &Command) -> Vec<Event> {
        self.events.clear();
        self.head = Head {
            kind: 0,
            flags: 0,
            user_id: 0,
            ..c.head
        };
        let outcome = self.dispatch(c);
        let mut reject = None;
        if let Err(reason) = outcome {
            let mut body = Reject {
                reason: reason as u16,
                command_kind: c.head.kind,
                ..Default::default()
            };
            match CommandKind::from_u8(c.head.kind) {
                Some(CommandKind::PlaceOrder) => {
                    let b: PlaceOrder = c.body();
                    (body.market, body.client_order_id) = (b.market, b.client_order_id);
                }
                Some(CommandKind::CancelOrder) => {
                    let b: OrderAddress = c.body();
                    (body.market, body.order_id, body.client_order_id) =
                        (b.market, b.order_id, b.client_order_id);
                }
                Some(CommandKind::AmendOrder) => {
                    let b: AmendOrder = c.body();
                    (body.market, body.order_id) = (b.market, b.order_id);
                }
                _ => {}
            }
            reject = Some(body);
        }
        if let Some(body) = reject {
            self.emit(EventKind::Rejected, c.head.user_id, 0, &body);
        }
        let done = Done {
            event_count: self.events.len() as u32,
            rejected: reject.is_some() as u8,
            reserved: [0; 3],
        };
        self.emit(EventKind::Done, c.head.user_id, 0, &done);
        std::mem::take(&mut self.events)
    }
}

const USERS: u64 = 3;

fn setup() -> Vec<Command> {
    let mut commands = Vec::new();
    for user in 1..=USERS {
        commands.push(create_user(
            &format!("trader{user}"),
            commands.len() as u64 + 1,
        ));
        for (asset, amount) in [(0, 12_000), (1, 4_000), (2, 4_000), (3, 40_000)] {
            commands.push(deposit(user, asset, amount, commands.len() as u64 + 1));
        }
    }
    commands
}

/// Moderate by default (quick on two cores); `PROPTEST_CASES=5000` for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// Runs one sequence; returns every event for coverage checks.
fn run_against_reference(seed: u64, length: usize) -> Result<Vec<Event>, TestCaseError> {
    let table = table();
    let mut engine = Engine::new(table.clone(), &capacity());
    let mut model = Model::new(&table);
    let mut rng = Rng(seed | 1);
    let mut commands = setup();
    for _ in 0..length {
        let sequence = commands.len() as u64 + 1;
        commands.push(random_trading_command(
            &mut rng,
            USERS,
            model.next_order_id + 2,
            sequence,
        ));
    }
    let mut all = Vec::new();
    for command in &commands {
        let mut events = Vec::new();
        engine.apply(command, &mut events);
        all.extend_from_slice(&events);
        let expected = model.apply(command);
        prop_assert_eq!(&events, &expected, "command {:?}", command);
        engine.check_invariants().map_err(TestCaseError::fail)?;
        for user in 1..=engine.accounts().user_count() as u64 {
            for asset in 0..4u32 {
                let holding = engine.accounts().holding(user, asset);
                let reference = model.balances[user as usize - 1][asset as usize];
                prop_assert_eq!((holding.available, holding.locked), reference);
            }
        }
        for asset in 0..4u32 {
            prop_assert_eq!(engine.accounts().fees(asset), model.fees[asset as usize]);
        }
    }
    Ok(all)
}

/// The random streams reach the interesting paths, so agreement with the reference means
/// something: trades, fees, self-trade expiries, amends that trade, and many reject reasons.
#[test]
fn random_streams_cover_the_interesting_paths() {
    let mut events = Vec::new();
    for seed in 1..=20 {
        events.extend(run_against_reference(seed, 300).unwrap());
    }
    let count = |kind: EventKind| events.iter().filter(|e| e.head.kind == kind as u8).count();
    assert!(
        count(EventKind::Trade) > 300,
        "trades: {}",
        count(EventKind::Trade)
    );
    let fees = events
        .iter()
        .filter(|e| e.head.kind == EventKind::Fill as u8 && e.body::<Fill>().fee > 0)
        .count();
    assert!(fees > 100, "fills with a fee: {fees}");
    let updates: Vec<OrderUpdate> = events
        .iter()
        .filter(|e| e.head.kind == EventKind::OrderUpdate as u8)
        .map(|e| e.body())
        .collect();
    for status in [
        OrderStatus::New,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Canceled,
        OrderStatus::Expired,
    ] {
        assert!(
            updates.iter().any(|u| u.status == status as u8),
            "no {status:?}"
        );
    }
    let quote_orders = updates.iter().filter(|u| {
        u.order_type == OrderType::Market as u8
            && u.quantity == 0
            && u.status == OrderStatus::Filled as u8
    });
    assert!(quote_orders.count() > 5, "market buys by quote amount");
    let reasons: Vec<u16> = events
        .iter()
        .filter(|e| e.head.kind == EventKind::Rejected as u8)
        .map(|e| e.body::<Reject>().reason)
        .collect();
    for reason in [
        RejectReason::InsufficientBalance,
        RejectReason::UnknownOrder,
        RejectReason::NotOwner,
        RejectReason::InvalidAmend,
        RejectReason::FokNotFillable,
        RejectReason::PostOnlyWouldCross,
        RejectReason::BelowMinimum,
        RejectReason::DuplicateClientOrderId,
    ] {
        assert!(
            reasons.contains(&(reason as u16)),
            "never rejected with {reason:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_reference_matcher(seed in any::<u64>(), length in 1usize..300) {
        run_against_reference(seed, length)?;

    }

    #[test]
    fn same_commands_give_the_same_hash_and_snapshots_resume_exactly(seed in any::<u64>(), split in 0usize..200) {
        let table = table();
        let mut rng = Rng(seed | 1);
        let mut commands = setup();
        for i in 0..200u64 {
            let sequence = commands.len() as u64 + 1;
            commands.push(random_trading_command(&mut rng, USERS, 1 + i / 2, sequence));
        }
        let mut first = Engine::new(table.clone(), &capacity());
        let mut second = Engine::new(table.clone(), &capacity());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let cut = setup().len() + split;
        for command in &commands[..cut] {
            first.apply(command, &mut a);
            second.apply(command, &mut b);
        }
        let mut bytes = Vec::new();
        second.write_snapshot(&mut bytes).unwrap();
        let mut restored = Engine::read_snapshot(&mut bytes.as_slice(), table, &capacity()).unwrap();
        prop_assert_eq!(restored.state_hash(), first.state_hash());
        let mut c = b.clone();
        for command in &commands[cut..] {
            first.apply(command, &mut a);
            second.apply(command, &mut b);
            restored.apply(command, &mut c);
        }
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&b, &c);
        prop_assert_eq!(first.state_hash(), second.state_hash());
        prop_assert_eq!(first.state_hash(), restored.state_hash());
        prop_assert_eq!(first.last_sequence(), restored.last_sequence());
    }
}

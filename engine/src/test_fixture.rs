//! What the engine's unit tests share: a market table with easy units (a notional is
//! price x quantity), small capacities, and one command runner that checks every answer
//! ends in exactly one `Done` and every invariant still holds.

use crate::config::{AssetConfig, Capacity, EngineConfig, MarketConfig, MarketTable};
use crate::engine::Engine;
use crate::message::{
    Command, CommandKind, CreateUser, Event, EventKind, PlaceOrder, Side, TimeInForce, Trade,
    Transfer, UserCreated,
};

pub(crate) const USD: u32 = 0;
pub(crate) const BTC: u32 = 1;
pub(crate) const ETH: u32 = 2;
pub(crate) const BTC_USD: u32 = 0;
pub(crate) const ETH_USD: u32 = 1;

/// Units chosen so a notional is simply price x quantity (quote_per_tick_lot = 1).
pub(crate) fn table() -> MarketTable {
    let asset = |name: &str| AssetConfig::new(name, 2);
    let market = |base: &str, min| MarketConfig::spot(base, "USD", ["1", "0.01", min], (10, 20));
    let config = EngineConfig {
        assets: vec![asset("USD"), asset("BTC"), asset("ETH")],
        markets: vec![market("BTC", "0.01"), market("ETH", "0.05")],
        capacity: Capacity::default(),
    };
    MarketTable::resolve(&config).unwrap()
}

pub(crate) fn small_capacity() -> Capacity {
    Capacity {
        orders: 64,
        users: 16,
        price_levels: 8,
        api_keys: 4,
        depth_levels: 5,
    }
}

/// Applies one command as user `user` and checks the invariants after it.
pub(crate) fn run<B: bytemuck::Pod>(
    engine: &mut Engine,
    kind: CommandKind,
    user: u64,
    body: &B,
) -> Vec<Event> {
    let mut command = Command::from_user(kind, user, body);
    command.head.sequence = engine.last_sequence() + 1;
    let mut events = Vec::new();
    engine.apply(&command, &mut events);
    engine.check_invariants().unwrap();
    events
}

/// A new user holding 1,000,000 units of every asset.
pub(crate) fn funded_user(engine: &mut Engine, name: &str) -> u64 {
    let body = CreateUser::named(name).unwrap();
    let user = run(engine, CommandKind::CreateUser, 0, &body)[0]
        .body::<UserCreated>()
        .user_id;
    for asset in [USD, BTC, ETH] {
        let transfer = Transfer::of(asset, 1_000_000);
        run(engine, CommandKind::Deposit, user, &transfer);
    }
    user
}

/// A small engine with two funded users; returns (engine, alice, bob).
pub(crate) fn two_users() -> (Engine, u64, u64) {
    let mut engine = Engine::new(table(), &small_capacity());
    let alice = funded_user(&mut engine, "alice");
    let bob = funded_user(&mut engine, "bob");
    (engine, alice, bob)
}

/// A GTC limit order on BTC-USD.
pub(crate) fn limit_order(side: Side, price: i64, quantity: i64) -> PlaceOrder {
    PlaceOrder::limit(BTC_USD, side, TimeInForce::Gtc, price, quantity)
}

/// The trades among `events`.
pub(crate) fn trades(events: &[Event]) -> Vec<Trade> {
    events
        .iter()
        .filter(|event| event.head.kind == EventKind::Trade as u8)
        .map(|event| event.body::<Trade>())
        .collect()
}

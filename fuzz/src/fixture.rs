//! The engine the ring-record and snapshot targets start from: the default markets, small
//! pools, two funded users and a few resting orders; and the commands that build it. Also
//! compiled into the root crate's `tests/fuzz_corpus.rs`, which encodes the seed corpus with
//! the same commands (so it depends on `pinwheel_engine` only).

use pinwheel_engine::config::{Capacity, EngineConfig, MarketTable};
use pinwheel_engine::message::{
    Command, CommandKind, CreateUser, DepthRequest, Event, MarketScope, NoBody, OrderAddress,
    PlaceOrder, QuoteRequest, Side, TimeInForce, Transfer,
};
use pinwheel_engine::Engine;

/// The default market table (BTC-USD is market 0; every asset has 8 decimals).
pub fn table() -> MarketTable {
    MarketTable::resolve(&EngineConfig::default()).expect("the default markets resolve")
}

/// Pools small enough that fuzzed commands reach every "full" path quickly.
pub fn capacity() -> Capacity {
    Capacity {
        orders: 32,
        users: 6,
        price_levels: 8,
        api_keys: 4,
        depth_levels: 5,
    }
}

/// Alice (user 1) and Bob (user 2), funded in every asset, with two bids and two asks on
/// BTC-USD (prices in ticks of 0.01, quantities in lots of 0.00001).
pub fn setup() -> Vec<Command> {
    let mut commands = Vec::new();
    for (user, name) in [(1, "alice"), (2, "bob")] {
        let create = CreateUser::named(name).expect("short name");
        commands.push(Command::from_user(CommandKind::CreateUser, 0, &create));
        for asset in 0..4 {
            let transfer = Transfer::of(asset, 1_000_000_000_000);
            commands.push(Command::from_user(CommandKind::Deposit, user, &transfer));
        }
    }
    let orders = [
        (1, Side::Buy, 2_999_000),
        (1, Side::Buy, 2_998_000),
        (2, Side::Sell, 3_001_000),
        (2, Side::Sell, 3_002_000),
    ];
    for (user, side, price) in orders {
        let order = PlaceOrder::limit(0, side, TimeInForce::Gtc, price, 10_000);
        commands.push(Command::from_user(CommandKind::PlaceOrder, user, &order));
    }
    commands
}

/// Commands a client could send after [`setup`], one of each kind the seeds start from.
pub fn traffic() -> Vec<Command> {
    let taker = PlaceOrder::limit(0, Side::Buy, TimeInForce::Ioc, 3_001_000, 5_000);
    vec![
        Command::from_user(CommandKind::PlaceOrder, 1, &taker),
        Command::from_user(CommandKind::CancelOrder, 1, &OrderAddress::by_id(0, 1)),
        Command::from_user(CommandKind::CancelAll, 2, &MarketScope::default()),
        Command::from_user(CommandKind::Withdraw, 2, &Transfer::of(0, 5)),
        Command::from_user(
            CommandKind::QueryQuote,
            1,
            &QuoteRequest {
                market: 0,
                side: Side::Buy as u8,
                quantity: 15_000,
                ..Default::default()
            },
        ),
        Command::from_user(
            CommandKind::QueryDepth,
            0,
            &DepthRequest {
                market: 0,
                limit: 5,
            },
        ),
        Command::from_user(CommandKind::QueryBalances, 2, &NoBody::default()),
    ]
}

/// Applies `command` as the sequencer would: stamped with the next sequence.
pub fn apply(engine: &mut Engine, mut command: Command) -> Vec<Event> {
    command.head.sequence = engine.last_sequence() + 1;
    let mut events = Vec::new();
    engine.apply(&command, &mut events);
    events
}

/// A fresh engine after [`setup`].
pub fn engine() -> Engine {
    let mut engine = Engine::new(table(), &capacity());
    for command in setup() {
        apply(&mut engine, command);
    }
    engine
}

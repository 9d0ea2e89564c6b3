//! Shared by the integration tests: a market table with easy units and command builders.
#![allow(clippy::too_many_lines)] // Tests opt out: the command builders are one table of cases.
#![allow(dead_code)]

use pinwheel_engine::config::{AssetConfig, Capacity, EngineConfig, MarketConfig, MarketTable};
use pinwheel_engine::message::*;

/// USD (2 decimals), BTC, ETH, SOL (4 decimals). BTC-USD and ETH-USD have 100 base units
/// per lot and quote_per_tick_lot 1; SOL-USD has tick 0.5 and lot 0.1, so 1000 base units
/// per lot and quote_per_tick_lot 5. Fees are large enough to be non-zero on both sides.
/// The configuration behind [`table`], for code that takes an `EngineConfig` (recovery, follower).
pub fn engine_config() -> EngineConfig {
    let market = |base: &str, steps, fees| MarketConfig::spot(base, "USD", steps, fees);
    EngineConfig {
        assets: vec![
            AssetConfig::new("USD", 2),
            AssetConfig::new("BTC", 4),
            AssetConfig::new("ETH", 4),
            AssetConfig::new("SOL", 4),
        ],
        markets: vec![
            market("BTC", ["1", "0.01", "0.01"], (10, 20)),
            market("ETH", ["1", "0.01", "0.05"], (0, 30)),
            market("SOL", ["0.5", "0.1", "0.1"], (25, 50)),
        ],
        capacity: Capacity::default(),
    }
}

/// The markets of [`engine_config`], resolved.
pub fn table() -> MarketTable {
    MarketTable::resolve(&engine_config()).unwrap()
}

pub fn capacity() -> Capacity {
    Capacity {
        orders: 4096,
        users: 64,
        price_levels: 512,
        api_keys: 16,
        depth_levels: 50,
    }
}

/// A command with routing filled in; the engine's caller stamps sequence and time.
pub fn command<B: bytemuck::Pod>(kind: CommandKind, user: u64, sequence: u64, body: &B) -> Command {
    let mut command = Command::from_user(kind, user, body);
    command.head.edge_id = 1;
    command.head.request_id = sequence + 1_000_000;
    command.head.sequence = sequence;
    command.head.timestamp_ns = 1_700_000_000_000_000_000 + sequence * 1_000;
    command
}

pub fn create_user(name: &str, sequence: u64) -> Command {
    let body = CreateUser::named(name).unwrap();
    command(CommandKind::CreateUser, 0, sequence, &body)
}

pub fn deposit(user: u64, asset: u32, amount: i64, sequence: u64) -> Command {
    command(
        CommandKind::Deposit,
        user,
        sequence,
        &Transfer::of(asset, amount),
    )
}

/// A small deterministic generator (xorshift64*), so tests need no randomness crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }
}

/// A mixed stream of trading commands for users 1..=users over all markets.
pub fn random_trading_command(
    rng: &mut Rng,
    users: u64,
    next_id_hint: u64,
    sequence: u64,
) -> Command {
    let user = 1 + rng.below(users);
    let market = rng.below(3) as u32;
    let roll = rng.below(100);
    let old_id = 1 + rng.below(next_id_hint.max(1));
    if roll < 45 {
        let side = if rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let is_market = rng.below(5) == 0;
        let mut body = PlaceOrder {
            market,
            side: side as u8,
            order_type: if is_market {
                OrderType::Market
            } else {
                OrderType::Limit
            } as u8,
            time_in_force: 1 + rng.below(3) as u8,
            stp: rng.below(4) as u8,
            price: if is_market { 0 } else { rng.range(95, 105) },
            quantity: rng.range(1, 20),
            ..Default::default()
        };
        if is_market && side == Side::Buy && rng.below(3) == 0 {
            body.quantity = 0;
            body.quote_quantity = rng.range(50, 3_000);
            body.time_in_force = TimeInForce::Ioc as u8;
        }
        if !is_market && rng.below(8) == 0 {
            body.flags = FLAG_POST_ONLY;
            body.time_in_force = TimeInForce::Gtc as u8;
        }
        if rng.below(4) == 0 {
            body.client_order_id = text_field(["a", "b", "c"][rng.below(3) as usize]).unwrap();
        }
        command(CommandKind::PlaceOrder, user, sequence, &body)
    } else if roll < 70 {
        let body = AmendOrder {
            market: ALL_MARKETS,
            reserved: 0,
            order_id: old_id,
            new_price: if rng.below(3) == 0 {
                0
            } else {
                rng.range(95, 105)
            },
            new_quantity: if rng.below(2) == 0 {
                0
            } else {
                rng.range(1, 20)
            },
        };
        command(CommandKind::AmendOrder, user, sequence, &body)
    } else if roll < 85 {
        let mut body = OrderAddress::by_id(ALL_MARKETS, old_id);
        if rng.below(4) == 0 {
            body.order_id = 0;
            body.client_order_id = text_field(["a", "b", "c"][rng.below(3) as usize]).unwrap();
        }
        command(CommandKind::CancelOrder, user, sequence, &body)
    } else if roll < 88 {
        let scope = if rng.below(2) == 0 {
            ALL_MARKETS
        } else {
            market
        };
        command(
            CommandKind::CancelAll,
            user,
            sequence,
            &MarketScope::of(scope),
        )
    } else if roll < 93 {
        let kind = if rng.below(2) == 0 {
            CommandKind::Deposit
        } else {
            CommandKind::Withdraw
        };
        let body = Transfer {
            asset: rng.below(4) as u32,
            reserved: 0,
            amount: rng.range(1, 5_000),
            ..Default::default()
        };
        command(kind, user, sequence, &body)
    } else if roll < 96 {
        command(
            CommandKind::QueryDepth,
            0,
            sequence,
            &DepthRequest { market, limit: 10 },
        )
    } else {
        command(
            CommandKind::QueryOpenOrders,
            user,
            sequence,
            &MarketScope::of(ALL_MARKETS),
        )
    }
}

/// The markets of `table()` with the tests' small capacities, as `recover` and `follow` take them.
pub fn engine_config_small() -> EngineConfig {
    EngineConfig {
        capacity: capacity(),
        ..engine_config()
    }
}

/// A fresh engine over `engine_config_small()`.
pub fn fresh_engine() -> pinwheel_engine::Engine {
    let config = engine_config_small();
    pinwheel_engine::Engine::new(MarketTable::resolve(&config).unwrap(), &config.capacity)
}

/// An empty `<tmp>/pinwheel-<test>-<name>-<pid>` with `run/` and `data/` inside.
pub fn temp_dir(test: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pinwheel-{test}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("run")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    dir
}

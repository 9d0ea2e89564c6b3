//! What every handler shares.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use pinwheel_engine::config::{AssetSpec, MarketSpec, MarketTable};

use crate::api::error::ApiError;
use crate::config::EdgeConfig;
use crate::link::EngineLink;
use crate::metrics::Metrics;
use crate::sessions::auth::Tokens;
use crate::sessions::rate_limit::RateLimiter;

/// An API key the engine confirmed: owner and secret hash. (What the owner may do is its
/// role, which the engine checks on each command; the edge caches no role.)
#[derive(Clone, Copy, Debug)]
pub struct KnownKey {
    /// Owner.
    pub user_id: u64,
    /// SHA-256 of the secret.
    pub secret_hash: [u8; 32],
}

/// Shared state of one edge.
pub struct AppState {
    /// The configuration.
    pub config: EdgeConfig,
    /// Markets and assets in integer units.
    pub table: MarketTable,
    /// The engine.
    pub link: Arc<EngineLink>,
    /// Token issuing and checking.
    pub tokens: Tokens,
    /// Per-user limits.
    pub user_limits: RateLimiter<u64>,
    /// Per-address limits.
    pub ip_limits: RateLimiter<IpAddr>,
    /// API keys already confirmed by the engine (keys never change once created).
    pub api_keys: Mutex<HashMap<[u8; 16], KnownKey>>,
    /// Request counters and latencies.
    pub metrics: Metrics,
    /// Where `/klines` and `/tickers` come from: QuestDB when configured, else the
    /// embedded store the output reader feeds.
    pub candles: pinwheel_candles::CandleSource,
    /// The engine's counters in `<run_dir>/counters`, mapped on first use.
    pub engine_counters: Mutex<Option<pinwheel_engine::shared_counters::SharedCounters>>,
}

/// Handlers' state handle.
pub type Shared = Arc<AppState>;

impl AppState {
    /// The market named `symbol`, or 400 `UNKNOWN_MARKET` naming `field`.
    pub fn market(&self, field: &str, symbol: &str) -> Result<&MarketSpec, ApiError> {
        self.table.market_by_symbol(symbol).ok_or_else(|| {
            ApiError::bad("UNKNOWN_MARKET", format!("{field}: no market {symbol:?}"))
        })
    }

    /// The asset named `name`, or 400 `UNKNOWN_ASSET`.
    pub fn asset(&self, field: &str, name: &str) -> Result<&AssetSpec, ApiError> {
        self.table
            .asset_by_name(name)
            .ok_or_else(|| ApiError::bad("UNKNOWN_ASSET", format!("{field}: no asset {name:?}")))
    }

    /// Base and quote assets of a market.
    pub fn assets_of(&self, market: &MarketSpec) -> (&AssetSpec, &AssetSpec) {
        (
            &self.table.assets[market.base as usize],
            &self.table.assets[market.quote as usize],
        )
    }

    /// How one market's integer candle values print as decimal text.
    pub fn units(&self, market: &MarketSpec) -> pinwheel_engine::units::MarketUnits {
        pinwheel_engine::units::MarketUnits::of(&self.table, market)
    }

    /// A market by id (ids come from the engine, so they exist).
    pub fn market_by_id(&self, id: u32) -> Option<&MarketSpec> {
        self.table.markets.get(id as usize)
    }
}

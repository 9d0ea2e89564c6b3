//! Markets, assets and capacities: what the engine is configured with.
//!
//! The configuration is text (TOML, decimals as strings so no `f64` ever touches a size);
//! [`MarketTable::resolve`] turns it into integer units once, at start-up, and refuses a
//! configuration whose units do not divide evenly.

use serde::{Deserialize, Serialize};

use crate::units::{self, Notation};

/// One asset: its symbol and how many decimals its smallest unit has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// Asset symbol, e.g. `BTC`.
    pub name: String,
    /// Decimals of the smallest unit (8 means 1 unit = 0.00000001).
    #[serde(default = "default_decimals")]
    pub decimals: u32,
}

impl AssetConfig {
    /// Asset `name` whose smallest unit has `decimals` decimals.
    pub fn new(name: &str, decimals: u32) -> Self {
        Self {
            name: name.into(),
            decimals,
        }
    }
}

/// One spot market as written in the config file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Symbol, e.g. `BTC-USD`.
    pub symbol: String,
    /// Base asset symbol.
    pub base: String,
    /// Quote asset symbol.
    pub quote: String,
    /// Price increment, in quote asset, as a decimal string.
    pub tick_size: String,
    /// Quantity increment, in base asset, as a decimal string.
    pub lot_size: String,
    /// Smallest order quantity, in base asset, as a decimal string.
    pub min_quantity: String,
    /// Maker fee in basis points of the received amount.
    #[serde(default)]
    pub maker_fee_bps: i64,
    /// Taker fee in basis points of the received amount.
    #[serde(default)]
    pub taker_fee_bps: i64,
}

impl MarketConfig {
    /// Market `BASE-QUOTE` with `[tick, lot, min_quantity]` as decimal text and
    /// `(maker, taker)` fees in basis points.
    pub fn spot(base: &str, quote: &str, steps: [&str; 3], fees_bps: (i64, i64)) -> Self {
        let [tick, lot, min] = steps;
        Self {
            symbol: format!("{base}-{quote}"),
            base: base.into(),
            quote: quote.into(),
            tick_size: tick.into(),
            lot_size: lot.into(),
            min_quantity: min.into(),
            maker_fee_bps: fees_bps.0,
            taker_fee_bps: fees_bps.1,
        }
    }
}

/// Fixed capacities, allocated at start-up. A full pool rejects with `CAPACITY_FULL`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capacity {
    /// Open orders across all markets.
    pub orders: usize,
    /// Users.
    pub users: usize,
    /// Price levels per side per market.
    pub price_levels: usize,
    /// API keys.
    pub api_keys: usize,
    /// Most levels per side a depth query may return.
    pub depth_levels: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            orders: 1 << 20,
            users: 1 << 16,
            price_levels: 1 << 14,
            api_keys: 1 << 16,
            depth_levels: 500,
        }
    }
}

/// The engine's whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Assets; markets refer to them by name.
    pub assets: Vec<AssetConfig>,
    /// Markets; a market's id is its index here.
    pub markets: Vec<MarketConfig>,
    /// Pool sizes.
    pub capacity: Capacity,
}

fn default_decimals() -> u32 {
    8
}

impl Default for EngineConfig {
    fn default() -> Self {
        let asset = |name: &str| AssetConfig::new(name, 8);
        let market = |base: &str, steps| MarketConfig::spot(base, "USD", steps, (10, 20));
        Self {
            assets: vec![asset("USD"), asset("BTC"), asset("ETH"), asset("SOL")],
            markets: vec![
                market("BTC", ["0.01", "0.00001", "0.0001"]),
                market("ETH", ["0.01", "0.0001", "0.001"]),
                market("SOL", ["0.001", "0.01", "0.01"]),
            ],
            capacity: Capacity::default(),
        }
    }
}

/// A market resolved to integer units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketSpec {
    /// Market id (index).
    pub id: u32,
    /// Symbol.
    pub symbol: String,
    /// Base asset id.
    pub base: u32,
    /// Quote asset id.
    pub quote: u32,
    /// One tick, in quote asset units.
    pub tick_units: i64,
    /// One lot, in base asset units.
    pub lot_units: i64,
    /// Minimum quantity, in lots.
    pub min_lots: i64,
    /// Quote units per (1 tick of price x 1 lot of quantity): notional = price * qty * this.
    pub quote_per_tick_lot: i64,
    /// Maker fee, basis points.
    pub maker_fee_bps: i64,
    /// Taker fee, basis points.
    pub taker_fee_bps: i64,
}

/// An asset resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSpec {
    /// Asset id (index).
    pub id: u32,
    /// Symbol.
    pub name: String,
    /// Decimals of one unit.
    pub decimals: u32,
}

/// Assets and markets resolved to integers, shared by engine, edges and feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketTable {
    /// Assets by id.
    pub assets: Vec<AssetSpec>,
    /// Markets by id.
    pub markets: Vec<MarketSpec>,
}

/// Why a configuration cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl MarketTable {
    /// Resolves the text configuration; every error names the market and the field.
    pub fn resolve(config: &EngineConfig) -> Result<Self, ConfigError> {
        let assets: Vec<AssetSpec> = config
            .assets
            .iter()
            .enumerate()
            .map(|(id, a)| AssetSpec {
                id: id as u32,
                name: a.name.clone(),
                decimals: a.decimals,
            })
            .collect();
        for asset in &assets {
            if asset.decimals > 18 {
                return Err(ConfigError(format!(
                    "asset {}: decimals must be at most 18",
                    asset.name
                )));
            }
            if assets
                .iter()
                .filter(|other| other.name == asset.name)
                .count()
                > 1
            {
                return Err(ConfigError(format!("asset {} is listed twice", asset.name)));
            }
        }
        let mut markets = Vec::with_capacity(config.markets.len());
        for (id, market) in config.markets.iter().enumerate() {
            markets.push(resolve_market(id as u32, market, &assets)?);
        }
        for market in &markets {
            if markets
                .iter()
                .filter(|other| other.symbol == market.symbol)
                .count()
                > 1
            {
                return Err(ConfigError(format!(
                    "market {} is listed twice",
                    market.symbol
                )));
            }
        }
        Ok(Self { assets, markets })
    }

    /// The market with this symbol.
    pub fn market_by_symbol(&self, symbol: &str) -> Option<&MarketSpec> {
        self.markets.iter().find(|market| market.symbol == symbol)
    }

    /// The asset with this symbol.
    pub fn asset_by_name(&self, name: &str) -> Option<&AssetSpec> {
        self.assets.iter().find(|asset| asset.name == name)
    }
}

fn resolve_market(
    id: u32,
    market: &MarketConfig,
    assets: &[AssetSpec],
) -> Result<MarketSpec, ConfigError> {
    let fail = |what: &str| ConfigError(format!("market {}: {what}", market.symbol));
    let find = |name: &str| assets.iter().find(|asset| asset.name == name);
    let base =
        find(&market.base).ok_or_else(|| fail(&format!("unknown base asset {}", market.base)))?;
    let quote = find(&market.quote)
        .ok_or_else(|| fail(&format!("unknown quote asset {}", market.quote)))?;
    if base.id == quote.id {
        return Err(fail("base and quote are the same asset"));
    }
    let units = |text: &str, asset: &AssetSpec, field: &str| {
        units::units(text, asset.decimals, Notation::Plain, field).map_err(|e| fail(&e.to_string()))
    };
    let tick_units = units(&market.tick_size, quote, "tick_size")?;
    let lot_units = units(&market.lot_size, base, "lot_size")?;
    let min_units = units(&market.min_quantity, base, "min_quantity")?;
    if tick_units <= 0 || lot_units <= 0 {
        return Err(fail("tick_size and lot_size must be positive"));
    }
    if min_units % lot_units != 0 {
        return Err(fail("min_quantity must be a multiple of lot_size"));
    }
    let base_one = 10i128.pow(base.decimals);
    let product = tick_units as i128 * lot_units as i128;
    if product % base_one != 0 {
        return Err(fail(
            "tick_size x lot_size is finer than the quote asset's smallest unit",
        ));
    }
    let quote_per_tick_lot =
        i64::try_from(product / base_one).map_err(|_| fail("tick_size x lot_size is too large"))?;
    for (name, bps) in [
        ("maker_fee_bps", market.maker_fee_bps),
        ("taker_fee_bps", market.taker_fee_bps),
    ] {
        if !(0..=1000).contains(&bps) {
            return Err(fail(&format!("{name} must be between 0 and 1000")));
        }
    }
    Ok(MarketSpec {
        id,
        symbol: market.symbol.clone(),
        base: base.id,
        quote: quote.id,
        tick_units,
        lot_units,
        min_lots: (min_units / lot_units).max(1),
        quote_per_tick_lot,
        maker_fee_bps: market.maker_fee_bps,
        taker_fee_bps: market.taker_fee_bps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve() {
        let table = MarketTable::resolve(&EngineConfig::default()).unwrap();
        let btc = table.market_by_symbol("BTC-USD").unwrap();
        assert_eq!(btc.tick_units, 1_000_000);
        assert_eq!(btc.lot_units, 1_000);
        assert_eq!(btc.quote_per_tick_lot, 10);
        assert_eq!(btc.min_lots, 10);
        assert_eq!(table.markets.len(), 3);
    }

    #[test]
    fn uneven_units_are_refused() {
        let mut config = EngineConfig::default();
        config.markets[0].lot_size = "0.000000001".into();
        let error = MarketTable::resolve(&config).unwrap_err();
        assert!(
            error.0.contains("BTC-USD") && error.0.contains("lot_size"),
            "{error}"
        );
    }
}

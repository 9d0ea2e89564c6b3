//! Decimal text for candle and ticker values, for the edges' JSON: ticks, lots and
//! tick x lot turned into the market's quote and base amounts, exactly (integer arithmetic).

use pinwheel_engine::config::{MarketSpec, MarketTable};

/// What it takes to print one market's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketUnits {
    tick_units: i128,
    lot_units: i128,
    quote_per_tick_lot: i128,
    base_decimals: u32,
    quote_decimals: u32,
}

impl MarketUnits {
    /// The units of `market` in `table`.
    pub fn of(table: &MarketTable, market: &MarketSpec) -> Self {
        let decimals = |asset: u32| table.assets[asset as usize].decimals;
        Self {
            tick_units: market.tick_units as i128,
            lot_units: market.lot_units as i128,
            quote_per_tick_lot: market.quote_per_tick_lot as i128,
            base_decimals: decimals(market.base),
            quote_decimals: decimals(market.quote),
        }
    }

    /// A price in ticks as quote-asset text, e.g. `27123.45`.
    pub fn price(&self, ticks: i64) -> String {
        format_scaled(ticks as i128 * self.tick_units, self.quote_decimals)
    }

    /// A quantity in lots as base-asset text.
    pub fn quantity(&self, lots: i64) -> String {
        format_scaled(lots as i128 * self.lot_units, self.base_decimals)
    }

    /// A quote volume in tick x lot as quote-asset text.
    pub fn quote(&self, tick_lots: i128) -> String {
        format_scaled(tick_lots * self.quote_per_tick_lot, self.quote_decimals)
    }
}

/// `units` with `decimals` places, without trailing zeros (`150, 2` -> `1.5`).
pub fn format_scaled(units: i128, decimals: u32) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    let scale = 10u128.pow(decimals);
    let (whole, fraction) = (magnitude / scale, magnitude % scale);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = format!("{fraction:0width$}", width = decimals as usize);
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::config::EngineConfig;

    #[test]
    fn default_btc_market_prints_exact_decimals() {
        let table = MarketTable::resolve(&EngineConfig::default()).unwrap();
        let btc = table.market_by_symbol("BTC-USD").unwrap();
        let units = MarketUnits::of(&table, btc);
        // tick 0.01 USD, lot 0.00001 BTC.
        assert_eq!(units.price(2_712_345), "27123.45");
        assert_eq!(units.quantity(150_000), "1.5");
        // 27123.45 x 1.5 = 40685.175
        assert_eq!(units.quote(2_712_345 * 150_000), "40685.175");
        assert_eq!(format_scaled(-5, 3), "-0.005");
        assert_eq!(format_scaled(i128::MAX / 10, 0).len(), 38);
    }
}

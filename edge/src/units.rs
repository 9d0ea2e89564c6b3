//! Decimal text (JSON numbers or strings) <-> the engine's integer units, exactly.
//!
//! Input is read from the raw JSON text so no `f64` ever holds a price or a size.

use pinwheel_engine::config::{AssetSpec, MarketSpec};
use rust_decimal::Decimal;

use crate::api::error::ApiError;

/// What a decimal field means: decides the error code and the check applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Amount {
    /// A limit price: positive multiple of the tick.
    Price,
    /// A base quantity: positive multiple of the lot.
    Quantity,
    /// A quote amount (market buy by quote, quote request): positive, in quote units.
    QuoteQuantity,
    /// A transfer amount: positive, in the asset's units.
    Transfer,
}

impl Amount {
    fn code(self) -> &'static str {
        match self {
            Self::Price => "INVALID_PRICE",
            Self::Quantity | Self::QuoteQuantity => "INVALID_QUANTITY",
            Self::Transfer => "INVALID_AMOUNT",
        }
    }
}

/// Reads a raw JSON value (number literal or string) as an exact decimal.
pub fn parse_decimal(raw: &str, field: &str, kind: Amount) -> Result<Decimal, ApiError> {
    let text = if raw.starts_with('"') {
        serde_json::from_str::<String>(raw)
            .map_err(|_| ApiError::bad(kind.code(), format!("{field}: not a valid string")))?
    } else {
        raw.to_string()
    };
    let text = text.trim();
    let bad = || {
        ApiError::bad(
            kind.code(),
            format!("{field}: {text:?} is not a decimal number"),
        )
    };
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
    let parsed = if plain {
        Decimal::from_str_exact(text)
    } else if text.bytes().any(|b| b == b'e' || b == b'E') {
        Decimal::from_scientific(text)
    } else {
        return Err(bad());
    };
    parsed.map_err(|error| {
        let message = error.to_string();
        if message.contains("overflow") || message.contains("too large") || text.len() > 28 {
            ApiError::bad(kind.code(), format!("{field}: {text} is too large"))
        } else {
            bad()
        }
    })
}

/// Converts a positive decimal to units with `decimals` places, exactly.
pub fn to_units(value: Decimal, decimals: u32, field: &str, kind: Amount) -> Result<i64, ApiError> {
    let fail = |what: String| ApiError::bad(kind.code(), format!("{field}: {what}"));
    if value.is_sign_negative() && !value.is_zero() {
        return Err(fail(format!("{value} is negative; it must be positive")));
    }
    if value.is_zero() {
        return Err(fail("must be greater than zero".into()));
    }
    let value = value.normalize();
    if value.scale() > decimals {
        return Err(fail(format!("{value} has more than {decimals} decimals")));
    }
    let factor = 10i128.pow(decimals - value.scale());
    value
        .mantissa()
        .checked_mul(factor)
        .and_then(|units| i64::try_from(units).ok())
        .ok_or_else(|| fail(format!("{value} is too large")))
}

/// A limit price as ticks of `market` (quote decimals from `quote`).
pub fn price_ticks(
    raw: &str,
    field: &str,
    market: &MarketSpec,
    quote: &AssetSpec,
) -> Result<i64, ApiError> {
    let value = parse_decimal(raw, field, Amount::Price)?;
    let units = to_units(value, quote.decimals, field, Amount::Price)?;
    whole_steps(
        units,
        market.tick_units,
        field,
        Amount::Price,
        "tick size",
        quote.decimals,
    )
}

/// A base quantity as lots of `market`.
pub fn quantity_lots(
    raw: &str,
    field: &str,
    market: &MarketSpec,
    base: &AssetSpec,
) -> Result<i64, ApiError> {
    let value = parse_decimal(raw, field, Amount::Quantity)?;
    let units = to_units(value, base.decimals, field, Amount::Quantity)?;
    whole_steps(
        units,
        market.lot_units,
        field,
        Amount::Quantity,
        "lot size",
        base.decimals,
    )
}

/// An amount of `asset` in its smallest units (quote quantities and transfers).
pub fn asset_units(
    raw: &str,
    field: &str,
    asset: &AssetSpec,
    kind: Amount,
) -> Result<i64, ApiError> {
    let value = parse_decimal(raw, field, kind)?;
    to_units(value, asset.decimals, field, kind)
}

fn whole_steps(
    units: i64,
    step: i64,
    field: &str,
    kind: Amount,
    what: &str,
    decimals: u32,
) -> Result<i64, ApiError> {
    assert!(step > 0, "a market's tick and lot are positive");
    if units % step != 0 {
        return Err(ApiError::bad(
            kind.code(),
            format!(
                "{field}: {} is not a multiple of the {what} {}",
                format_units(units as i128, decimals),
                format_units(step as i128, decimals)
            ),
        ));
    }
    Ok(units / step)
}

/// Formats units with `decimals` places, without trailing zeros ("0.01", "12", "-1.5").
pub fn format_units(units: i128, decimals: u32) -> String {
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

/// Decimal text of a price in ticks.
pub fn price_text(ticks: i64, market: &MarketSpec, quote: &AssetSpec) -> String {
    format_units(ticks as i128 * market.tick_units as i128, quote.decimals)
}

/// Decimal text of a quantity in lots.
pub fn quantity_text(lots: i64, market: &MarketSpec, base: &AssetSpec) -> String {
    format_units(lots as i128 * market.lot_units as i128, base.decimals)
}

/// Decimal text of an amount in asset units.
pub fn asset_text(units: i64, asset: &AssetSpec) -> String {
    format_units(units as i128, asset.decimals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::config::{EngineConfig, MarketTable};

    fn btc() -> (MarketSpec, AssetSpec, AssetSpec) {
        let table = MarketTable::resolve(&EngineConfig::default()).unwrap();
        let market = table.market_by_symbol("BTC-USD").unwrap().clone();
        let base = table.assets[market.base as usize].clone();
        let quote = table.assets[market.quote as usize].clone();
        (market, base, quote)
    }

    #[test]
    fn numbers_and_strings_give_the_same_ticks() {
        let (market, _, quote) = btc();
        assert_eq!(price_ticks("100.25", "price", &market, &quote), Ok(10_025));
        assert_eq!(
            price_ticks("\"100.25\"", "price", &market, &quote),
            Ok(10_025)
        );
        assert_eq!(
            price_ticks("1.0025e2", "price", &market, &quote),
            Ok(10_025)
        );
        assert_eq!(price_ticks("100", "price", &market, &quote), Ok(10_000));
    }

    #[test]
    fn off_tick_too_many_decimals_huge_negative_and_zero_are_refused() {
        let (market, base, quote) = btc();
        let cases = [
            ("100.005", "INVALID_PRICE", "multiple of the tick size 0.01"),
            ("0.000000001", "INVALID_PRICE", "more than 8 decimals"),
            ("99999999999999999999999", "INVALID_PRICE", "too large"),
            (
                "999999999999999999999999999999999",
                "INVALID_PRICE",
                "too large",
            ),
            ("-5", "INVALID_PRICE", "negative"),
            ("0", "INVALID_PRICE", "greater than zero"),
            ("\"abc\"", "INVALID_PRICE", "not a decimal"),
            ("\"1,5\"", "INVALID_PRICE", "not a decimal"),
            ("true", "INVALID_PRICE", "not a decimal"),
        ];
        for (raw, code, words) in cases {
            let error = price_ticks(raw, "price", &market, &quote).unwrap_err();
            assert_eq!(error.code, code, "{raw}");
            assert!(
                error.message.starts_with("price: "),
                "{raw}: {}",
                error.message
            );
            assert!(error.message.contains(words), "{raw}: {}", error.message);
        }
        let error = quantity_lots("0.000015", "quantity", &market, &base).unwrap_err();
        assert_eq!(error.code, "INVALID_QUANTITY");
        assert!(
            error.message.contains("lot size 0.00001"),
            "{}",
            error.message
        );
        assert_eq!(quantity_lots("0.5", "quantity", &market, &base), Ok(50_000));
    }

    #[test]
    fn transfers_use_the_asset_decimals() {
        let (_, base, quote) = btc();
        assert_eq!(
            asset_units("1.5", "amount", &base, Amount::Transfer),
            Ok(150_000_000)
        );
        let error = asset_units("-1", "amount", &quote, Amount::Transfer).unwrap_err();
        assert_eq!(error.code, "INVALID_AMOUNT");
    }

    #[test]
    fn formatting_round_trips() {
        let (market, base, quote) = btc();
        assert_eq!(price_text(10_025, &market, &quote), "100.25");
        assert_eq!(quantity_text(50_000, &market, &base), "0.5");
        assert_eq!(format_units(-150, 2), "-1.5");
        assert_eq!(asset_text(0, &base), "0");
    }
}

//! JSON values (numbers or strings) -> the engine's integer units, and back to text.
//!
//! The value is read from the raw JSON text, so no `f64` ever holds a price or a size; the
//! conversion itself and its error messages are the engine's (`pinwheel_engine::units`,
//! the one place decimal text becomes units). What the edge adds: unwrapping a JSON
//! string, accepting exponents (JSON numbers may have them), and which reject code a
//! field's error carries.

use std::borrow::Cow;

use pinwheel_engine::config::{AssetSpec, MarketSpec};
use pinwheel_engine::message::RejectReason;
use pinwheel_engine::units::{self, Notation, Step, UnitsError};

use crate::api::error::ApiError;

/// What a decimal field means: decides the error code.
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
    fn reason(self) -> RejectReason {
        match self {
            Self::Price => RejectReason::InvalidPrice,
            Self::Quantity | Self::QuoteQuantity => RejectReason::InvalidQuantity,
            Self::Transfer => RejectReason::InvalidAmount,
        }
    }

    fn error(self, error: UnitsError) -> ApiError {
        ApiError::bad(self.reason().code(), error.to_string())
    }
}

/// The decimal text of a raw JSON value: a number literal as is, a string unwrapped.
fn json_text<'a>(raw: &'a str, field: &str, kind: Amount) -> Result<Cow<'a, str>, ApiError> {
    if !raw.starts_with('"') {
        return Ok(Cow::Borrowed(raw.trim()));
    }
    let text = serde_json::from_str::<String>(raw)
        .map_err(|_| ApiError::bad(kind.reason().code(), format!("{field}: not a valid string")))?;
    Ok(Cow::Owned(text.trim().to_string()))
}

fn steps(raw: &str, field: &str, step: Step, kind: Amount) -> Result<i64, ApiError> {
    let text = json_text(raw, field, kind)?;
    step.count(&text, Notation::Scientific, field)
        .map_err(|error| kind.error(error))
}

/// A limit price as ticks of `market` (quote decimals from `quote`).
pub fn price_ticks(
    raw: &str,
    field: &str,
    market: &MarketSpec,
    quote: &AssetSpec,
) -> Result<i64, ApiError> {
    steps(raw, field, Step::tick(market, quote), Amount::Price)
}

/// A base quantity as lots of `market`.
pub fn quantity_lots(
    raw: &str,
    field: &str,
    market: &MarketSpec,
    base: &AssetSpec,
) -> Result<i64, ApiError> {
    steps(raw, field, Step::lot(market, base), Amount::Quantity)
}

/// A positive amount of `asset` in its smallest units (quote quantities and transfers).
pub fn asset_units(
    raw: &str,
    field: &str,
    asset: &AssetSpec,
    kind: Amount,
) -> Result<i64, ApiError> {
    let text = json_text(raw, field, kind)?;
    units::asset_units(&text, asset, Notation::Scientific, field).map_err(|error| kind.error(error))
}

/// Decimal text of a price in ticks.
pub fn price_text(ticks: i64, market: &MarketSpec, quote: &AssetSpec) -> String {
    Step::tick(market, quote).text(ticks)
}

/// Decimal text of a quantity in lots.
pub fn quantity_text(lots: i64, market: &MarketSpec, base: &AssetSpec) -> String {
    Step::lot(market, base).text(lots)
}

pub use pinwheel_engine::units::asset_text;

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
        assert_eq!(asset_text(0, &base), "0");
        assert_eq!(
            price_ticks(
                &price_text(10_025, &market, &quote),
                "price",
                &market,
                &quote
            ),
            Ok(10_025)
        );
    }
}

//! Decimal text <-> integer units, exactly: the one place it is done.
//!
//! The config file (tick and lot sizes), the HTTP edge (prices and sizes as JSON numbers or
//! strings), the edges' candle and ticker answers, and the coming Binance (`"0.00100000"`) and
//! FIX (`30000.5`) edges all convert here. No `f64`: the text is read as a digit string and a
//! decimal exponent, scaled by whole powers of ten in `i128`, and a value that does not fit
//! exactly is refused with an error naming the field and saying what was wrong. Nothing is
//! ever rounded.

use std::fmt;

use crate::config::{AssetSpec, MarketSpec, MarketTable};

/// Which spellings a field accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notation {
    /// Digits with an optional point and sign: `30000.5`, `0.00100000`, `.5`, `+2`
    /// (config files, Binance decimal strings, FIX prices and quantities).
    Plain,
    /// Plain, or with a decimal exponent: `1.0025e2` (JSON numbers).
    Scientific,
}

/// What was wrong with a field's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Not digits with an optional sign, point (and exponent, where allowed).
    NotANumber,
    /// Below zero.
    Negative,
    /// Zero where a positive value is required.
    NotPositive,
    /// More decimals than the unit has.
    TooManyDecimals {
        /// Decimals of the unit.
        decimals: u32,
    },
    /// Past `i64` units.
    TooLarge,
    /// Not a whole number of steps (ticks, lots).
    OffStep {
        /// What the step is called, e.g. `tick size`.
        step_name: &'static str,
        /// The step as decimal text, e.g. `0.01`.
        step: String,
    },
}

/// A field's text that could not become units: the field, its text, and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitsError {
    /// The field, as the caller names it (`price`, `tick_size`, ...).
    pub field: String,
    /// The text as given.
    pub text: String,
    /// What was wrong.
    pub problem: Problem,
}

impl UnitsError {
    fn new(field: &str, text: &str, problem: Problem) -> Self {
        Self {
            field: field.to_string(),
            text: text.to_string(),
            problem,
        }
    }
}

impl fmt::Display for UnitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, text) = (&self.field, &self.text);
        match &self.problem {
            Problem::NotANumber => write!(f, "{field}: {text:?} is not a decimal number"),
            Problem::Negative => write!(f, "{field}: {text} is negative; it must be positive"),
            Problem::NotPositive => write!(f, "{field}: {text} must be greater than zero"),
            Problem::TooManyDecimals { decimals } => {
                write!(f, "{field}: {text} has more than {decimals} decimals")
            }
            Problem::TooLarge => write!(f, "{field}: {text} is too large"),
            Problem::OffStep { step_name, step } => {
                write!(
                    f,
                    "{field}: {text} is not a multiple of the {step_name} {step}"
                )
            }
        }
    }
}

impl std::error::Error for UnitsError {}

/// Most decimal digits an `i128` holds whatever they are (10^38 < i128::MAX).
const I128_DIGITS: i64 = 38;
/// An exponent beyond this makes any non-zero value too large or too fine.
const EXPONENT_LIMIT: i64 = 1_000;

/// A decimal read from text: `sign x digits x 10^exponent`, digits without leading or
/// trailing zeros (empty for zero). Borrowed from the text: reading allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Digits<'a> {
    negative: bool,
    significant: &'a str,
    exponent: i64,
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// Reads `e-5`'s `-5`; exponents past the limit are clamped (the value is then refused
/// as too large or too fine, unless it is zero).
fn read_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !all_digits(digits) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |value, b| {
        (value * 10 + i64::from(b - b'0')).min(EXPONENT_LIMIT)
    });
    Some(if negative { -magnitude } else { magnitude })
}

fn read(text: &str, notation: Notation) -> Option<Digits<'_>> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (number, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) if notation == Notation::Scientific => {
            (&unsigned[..at], read_exponent(&unsigned[at + 1..])?)
        }
        Some(_) => return None,
        None => (unsigned, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    let whole = whole.trim_start_matches('0');
    let mut exponent = exponent - fraction.len() as i64;
    // The digits are whole ++ fraction; take the significant run without copying.
    let significant = if whole.is_empty() {
        fraction.trim_start_matches('0')
    } else if fraction.is_empty() {
        let trimmed = whole.trim_end_matches('0');
        exponent += (whole.len() - trimmed.len()) as i64;
        trimmed
    } else {
        // Both non-empty: the run spans the point; keep it as two parts via the text.
        let start = number.len() - number.trim_start_matches('0').len();
        &number[start..start + whole.len() + 1 + fraction.len()]
    };
    Some(Digits {
        negative,
        significant,
        exponent,
    })
}

/// `digits` (which may contain one `.`, skipped) times 10^shift, or `None` past `i64`.
fn scaled(digits: &str, shift: i64) -> Option<i64> {
    let count = digits.bytes().filter(u8::is_ascii_digit).count() as i64;
    if count + shift > I128_DIGITS {
        return None;
    }
    let value = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0i128, |value, b| value * 10 + i128::from(b - b'0'));
    i64::try_from(value * 10i128.pow(shift as u32)).ok()
}

/// `text` in units with `decimals` places, zero allowed: `"0.01"` with 8 decimals is
/// 1_000_000. Refuses what is not a number, negative, finer than a unit, or past `i64`.
pub fn units(
    text: &str,
    decimals: u32,
    notation: Notation,
    field: &str,
) -> Result<i64, UnitsError> {
    let fail = |problem| UnitsError::new(field, text, problem);
    let digits = read(text, notation).ok_or_else(|| fail(Problem::NotANumber))?;
    if digits.significant.is_empty() {
        return Ok(0);
    }
    if digits.negative {
        return Err(fail(Problem::Negative));
    }
    let shift = digits.exponent + i64::from(decimals);
    if shift < 0 {
        return Err(fail(Problem::TooManyDecimals { decimals }));
    }
    scaled(digits.significant, shift).ok_or_else(|| fail(Problem::TooLarge))
}

/// [`units`], refusing zero too: amounts, prices and sizes of orders are positive.
pub fn positive_units(
    text: &str,
    decimals: u32,
    notation: Notation,
    field: &str,
) -> Result<i64, UnitsError> {
    match units(text, decimals, notation, field)? {
        0 => Err(UnitsError::new(field, text, Problem::NotPositive)),
        value => Ok(value),
    }
}

/// A step of a market (a tick or a lot): its size in units and what it is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Units per step, positive.
    pub units: i64,
    /// Decimals of the unit.
    pub decimals: u32,
    /// `tick size`, `lot size`.
    pub name: &'static str,
}

impl Step {
    /// A tick of `market`, whose quote asset is `quote`.
    pub fn tick(market: &MarketSpec, quote: &AssetSpec) -> Self {
        assert_eq!(market.quote, quote.id, "the market's quote asset");
        Self {
            units: market.tick_units,
            decimals: quote.decimals,
            name: "tick size",
        }
    }

    /// A lot of `market`, whose base asset is `base`.
    pub fn lot(market: &MarketSpec, base: &AssetSpec) -> Self {
        assert_eq!(market.base, base.id, "the market's base asset");
        Self {
            units: market.lot_units,
            decimals: base.decimals,
            name: "lot size",
        }
    }

    /// A positive `text` as a whole number of steps.
    pub fn count(&self, text: &str, notation: Notation, field: &str) -> Result<i64, UnitsError> {
        assert!(self.units > 0, "a market's tick and lot are positive");
        let value = positive_units(text, self.decimals, notation, field)?;
        if value % self.units != 0 {
            let problem = Problem::OffStep {
                step_name: self.name,
                step: format_units(i128::from(self.units), self.decimals),
            };
            return Err(UnitsError::new(field, text, problem));
        }
        Ok(value / self.units)
    }

    /// `count` steps as decimal text.
    pub fn text(&self, count: i64) -> String {
        format_units(i128::from(count) * i128::from(self.units), self.decimals)
    }
}

/// Units with `decimals` places as text without trailing zeros (`150, 2` -> `1.5`,
/// `-5, 3` -> `-0.005`, `1200, 2` -> `12`).
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

/// An amount of `asset` as text.
pub fn asset_text(units: i64, asset: &AssetSpec) -> String {
    format_units(i128::from(units), asset.decimals)
}

/// A positive amount of `asset` (transfers, quote sizes) in its units.
pub fn asset_units(
    text: &str,
    asset: &AssetSpec,
    notation: Notation,
    field: &str,
) -> Result<i64, UnitsError> {
    positive_units(text, asset.decimals, notation, field)
}

/// One market's conversions: prices in ticks, quantities in lots, quote volumes in
/// tick x lot, both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketUnits {
    /// A tick, in quote units.
    pub tick: Step,
    /// A lot, in base units.
    pub lot: Step,
    quote_per_tick_lot: i64,
}

impl MarketUnits {
    /// The units of `market`, whose assets are `base` and `quote`.
    pub fn new(market: &MarketSpec, base: &AssetSpec, quote: &AssetSpec) -> Self {
        Self {
            tick: Step::tick(market, quote),
            lot: Step::lot(market, base),
            quote_per_tick_lot: market.quote_per_tick_lot,
        }
    }

    /// The units of `market` in `table`.
    pub fn of(table: &MarketTable, market: &MarketSpec) -> Self {
        let asset = |id: u32| &table.assets[id as usize];
        Self::new(market, asset(market.base), asset(market.quote))
    }

    /// A price as ticks.
    pub fn price_ticks(
        &self,
        text: &str,
        notation: Notation,
        field: &str,
    ) -> Result<i64, UnitsError> {
        self.tick.count(text, notation, field)
    }

    /// A base quantity as lots.
    pub fn quantity_lots(
        &self,
        text: &str,
        notation: Notation,
        field: &str,
    ) -> Result<i64, UnitsError> {
        self.lot.count(text, notation, field)
    }

    /// A price in ticks as quote-asset text, e.g. `27123.45`.
    pub fn price(&self, ticks: i64) -> String {
        self.tick.text(ticks)
    }

    /// A quantity in lots as base-asset text.
    pub fn quantity(&self, lots: i64) -> String {
        self.lot.text(lots)
    }

    /// A quote volume in tick x lot as quote-asset text.
    pub fn quote(&self, tick_lots: i128) -> String {
        format_units(
            tick_lots * i128::from(self.quote_per_tick_lot),
            self.tick.decimals,
        )
    }

    /// The average price of `lots` bought or sold for `quote_units` of the quote asset, as
    /// quote-asset text per whole base unit, cut (not rounded) to the quote asset's decimals;
    /// `None` when nothing was executed.
    pub fn average_price(&self, quote_units: i64, lots: i64) -> Option<String> {
        if lots <= 0 {
            return None;
        }
        let base_units = i128::from(lots) * i128::from(self.lot.units);
        let per_base = i128::from(quote_units) * 10i128.pow(self.lot.decimals) / base_units;
        Some(format_units(per_base, self.tick.decimals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use proptest::prelude::*;

    fn plain(text: &str, decimals: u32) -> Result<i64, Problem> {
        units(text, decimals, Notation::Plain, "f").map_err(|e| e.problem)
    }

    fn btc() -> MarketUnits {
        let table = MarketTable::resolve(&EngineConfig::default()).unwrap();
        MarketUnits::of(&table, table.market_by_symbol("BTC-USD").unwrap())
    }

    #[test]
    fn an_average_price_is_quote_per_whole_base_cut_to_the_quote_decimals() {
        let btc = btc();
        // 0.2 BTC for 6000 USD; 0.3 BTC for 9000.01 USD.
        let lots = |text| btc.quantity_lots(text, Notation::Plain, "q").unwrap();
        let usd = |text| units(text, btc.tick.decimals, Notation::Plain, "u").unwrap();
        assert_eq!(
            btc.average_price(usd("6000"), lots("0.2")).as_deref(),
            Some("30000")
        );
        assert_eq!(
            btc.average_price(usd("9000.01"), lots("0.3")).as_deref(),
            Some("30000.03333333")
        );
        assert_eq!(btc.average_price(0, 0), None);
    }

    #[test]
    fn text_becomes_units_exactly() {
        assert_eq!(plain("0.01", 8), Ok(1_000_000));
        assert_eq!(plain("12", 2), Ok(1200));
        assert_eq!(plain("1.50", 1), Ok(15));
        assert_eq!(plain("0.00100000", 8), Ok(100_000), "Binance's spelling");
        assert_eq!(plain("30000.5", 8), Ok(3_000_050_000_000), "FIX's spelling");
        assert_eq!(plain(".5", 1), Ok(5));
        assert_eq!(plain("5.", 1), Ok(50));
        assert_eq!(plain("+7", 0), Ok(7));
        assert_eq!(plain("000120.0300", 4), Ok(1_200_300));
        assert_eq!(plain("0", 8), Ok(0));
        assert_eq!(plain("-0.000", 8), Ok(0), "minus zero is zero");
        assert_eq!(plain("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(plain("92233720368.54775807", 8), Ok(i64::MAX));
        let sci = |text| units(text, 8, Notation::Scientific, "f").map_err(|e| e.problem);
        assert_eq!(sci("1.0025e2"), Ok(10_025_000_000));
        assert_eq!(sci("1E-8"), Ok(1));
        assert_eq!(sci("100e-10"), Ok(1), "trailing zeros of the digits count");
        assert_eq!(sci("0e99999999999"), Ok(0));
    }

    #[test]
    fn every_problem_is_named() {
        let long = "1".repeat(60);
        let cases = [
            ("", Problem::NotANumber),
            (".", Problem::NotANumber),
            ("-", Problem::NotANumber),
            ("1,5", Problem::NotANumber),
            ("abc", Problem::NotANumber),
            ("1.2.3", Problem::NotANumber),
            (" 1", Problem::NotANumber),
            ("1e5", Problem::NotANumber),
            ("--1", Problem::NotANumber),
            ("-1", Problem::Negative),
            ("0.001", Problem::TooManyDecimals { decimals: 2 }),
            ("99999999999999999999", Problem::TooLarge),
            ("92233720368547758.08", Problem::TooLarge),
            (long.as_str(), Problem::TooLarge),
        ];
        for (text, problem) in cases {
            assert_eq!(plain(text, 2), Err(problem), "{text:?}");
        }
        let sci = |text| units(text, 2, Notation::Scientific, "f").map_err(|e| e.problem);
        assert_eq!(sci("1e"), Err(Problem::NotANumber));
        assert_eq!(sci("1e+-2"), Err(Problem::NotANumber));
        assert_eq!(sci("1e99999999"), Err(Problem::TooLarge));
        assert_eq!(
            sci("1e-99999999"),
            Err(Problem::TooManyDecimals { decimals: 2 })
        );
        let zero = positive_units("0.00", 2, Notation::Plain, "amount").unwrap_err();
        assert_eq!(zero.problem, Problem::NotPositive);
        assert_eq!(zero.to_string(), "amount: 0.00 must be greater than zero");
    }

    #[test]
    fn messages_name_the_field_and_the_text() {
        let message = |text: &str| {
            units(text, 2, Notation::Plain, "tick_size")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(message("x"), "tick_size: \"x\" is not a decimal number");
        assert_eq!(
            message("-5"),
            "tick_size: -5 is negative; it must be positive"
        );
        assert_eq!(
            message("0.001"),
            "tick_size: 0.001 has more than 2 decimals"
        );
        assert_eq!(message("1e3"), "tick_size: \"1e3\" is not a decimal number");
        assert_eq!(
            message("99999999999999999999"),
            "tick_size: 99999999999999999999 is too large"
        );
    }

    #[test]
    fn market_steps_refuse_off_tick_and_off_lot() {
        let market = btc();
        assert_eq!(
            market.price_ticks("100.25", Notation::Plain, "price"),
            Ok(10_025)
        );
        assert_eq!(
            market.quantity_lots("0.5", Notation::Plain, "quantity"),
            Ok(50_000)
        );
        let off_tick = market
            .price_ticks("100.005", Notation::Plain, "price")
            .unwrap_err();
        assert_eq!(
            off_tick.to_string(),
            "price: 100.005 is not a multiple of the tick size 0.01"
        );
        let off_lot = market
            .quantity_lots("0.000015", Notation::Plain, "quantity")
            .unwrap_err();
        assert!(
            off_lot.to_string().contains("lot size 0.00001"),
            "{off_lot}"
        );
        let zero = market
            .price_ticks("0", Notation::Plain, "price")
            .unwrap_err();
        assert_eq!(zero.problem, Problem::NotPositive);
    }

    #[test]
    fn units_print_without_trailing_zeros() {
        let market = btc();
        // tick 0.01 USD, lot 0.00001 BTC.
        assert_eq!(market.price(2_712_345), "27123.45");
        assert_eq!(market.quantity(150_000), "1.5");
        // 27123.45 x 1.5 = 40685.175
        assert_eq!(market.quote(2_712_345 * 150_000), "40685.175");
        assert_eq!(format_units(1_000_000, 8), "0.01");
        assert_eq!(format_units(-150, 2), "-1.5");
        assert_eq!(format_units(1200, 2), "12");
        assert_eq!(format_units(-5, 3), "-0.005");
        assert_eq!(format_units(0, 8), "0");
        assert_eq!(format_units(i128::MAX / 10, 0).len(), 38);
    }

    proptest! {
        #[test]
        fn units_survive_text_and_back(value in 0i64..=i64::MAX, decimals in 0u32..=18) {
            let text = format_units(i128::from(value), decimals);
            prop_assert_eq!(units(&text, decimals, Notation::Plain, "f"), Ok(value));
            prop_assert_eq!(units(&text, decimals, Notation::Scientific, "f"), Ok(value));
        }

        #[test]
        fn padded_and_exponent_spellings_agree(value in 0i64..1_000_000_000_000, zeros in 0usize..12, exponent in -6i64..6) {
            let text = format_units(i128::from(value), 8);
            let padded = if text.contains('.') { format!("{text}{}", "0".repeat(zeros)) } else { format!("{text}.{}", "0".repeat(zeros)) };
            prop_assert_eq!(units(&padded, 8, Notation::Plain, "f"), Ok(value));
            // value x 10^-8 == (value x 10^-(8 + exponent)) e exponent
            let shifted = format!("{}e{exponent}", format_units(i128::from(value), (8 + exponent) as u32));
            prop_assert_eq!(units(&shifted, 8, Notation::Scientific, "f"), Ok(value));
        }

        #[test]
        fn steps_round_trip(count in 1i64..1_000_000_000) {
            let market = btc();
            prop_assert_eq!(market.price_ticks(&market.price(count), Notation::Plain, "price"), Ok(count));
            prop_assert_eq!(market.quantity_lots(&market.quantity(count), Notation::Plain, "quantity"), Ok(count));
        }
    }
}

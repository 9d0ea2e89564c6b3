//! Decimal text to integer units, the one conversion every price, quantity and amount goes
//! through: the engine's `units` (config files, plain notation; JSON, scientific) and the
//! edge's JSON wrappers (`price_ticks`, `quantity_lots`, `asset_units`). The first byte picks
//! the market; the rest is the text. Checks: an error names its field and keeps the text; what
//! plain notation accepts, scientific accepts as the same number; every accepted count prints
//! (`Step::text`) as text that reads back as the same count; the edge agrees with the engine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinwheel_edge::units::{asset_units, price_ticks, quantity_lots, Amount};
use pinwheel_engine::units::{self as engine_units, Notation, Step, UnitsError};
use pinwheel_fuzz::edge::{assert_clear, state};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let table = &state().table;
    let market = &table.markets[usize::from(pick) % table.markets.len()];
    let (base, quote) = state().assets_of(market);
    for step in [Step::tick(market, quote), Step::lot(market, base)] {
        let plain = step.count(text, Notation::Plain, "field");
        let scientific = step.count(text, Notation::Scientific, "field");
        for result in [&plain, &scientific] {
            match result {
                Ok(count) => {
                    assert!(*count > 0, "{text:?} -> {count}");
                    let printed = step.text(*count);
                    assert_eq!(step.count(&printed, Notation::Plain, "field"), Ok(*count));
                }
                Err(error) => assert_named(error, text),
            }
        }
        if let Ok(count) = plain {
            assert_eq!(scientific, Ok(count), "{text:?}");
        }
    }
    // The edge reads a JSON number literal as is and unwraps a JSON string, then trims.
    let unwrapped = if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else {
        Some(text.to_string())
    };
    let inner = unwrapped.as_deref().map(str::trim);
    let engine = |step: Step| inner.and_then(|t| step.count(t, Notation::Scientific, "f").ok());
    let engine_quote =
        inner.and_then(|t| engine_units::asset_units(t, quote, Notation::Scientific, "f").ok());
    let edge = [
        (
            price_ticks(text, "field", market, quote),
            engine(Step::tick(market, quote)),
        ),
        (
            quantity_lots(text, "field", market, base),
            engine(Step::lot(market, base)),
        ),
        (
            asset_units(text, "field", quote, Amount::QuoteQuantity),
            engine_quote,
        ),
    ];
    for (edge, engine) in edge {
        match edge {
            Ok(value) => assert_eq!(Some(value), engine, "{text:?}: edge and engine differ"),
            Err(error) => {
                assert_clear(&error);
                assert_eq!(
                    engine, None,
                    "{text:?}: the edge refused what the engine takes"
                );
            }
        }
    }
});

fn assert_named(error: &UnitsError, text: &str) {
    assert_eq!((error.field.as_str(), error.text.as_str()), ("field", text));
    assert!(error.to_string().contains("field"), "{error}");
}

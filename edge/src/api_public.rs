//! Public market data: markets, depth, trades, tickers, klines.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::Json;
use pinwheel_engine::config::MarketSpec;
use pinwheel_engine::message::{BookDelta, Command, CommandKind, DepthRequest, EventKind};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::api_trading::parse_limit;
use crate::error::{ApiError, ApiResult};
use crate::market_data::{klines as aggregate, ticker, Candle, DepthSnapshot, INTERVALS};
use crate::state::{AppState, Shared};
use crate::translate::{bodies, check_rejected, SIDES};
use crate::units::{asset_text, format_units, price_text, quantity_text};

type Params = Query<HashMap<String, String>>;

fn symbol_param<'a>(
    state: &'a AppState,
    params: &HashMap<String, String>,
) -> ApiResult<&'a MarketSpec> {
    let symbol = params
        .get("symbol")
        .or_else(|| params.get("market"))
        .ok_or_else(|| ApiError::missing("symbol"))?;
    state.market("symbol", symbol)
}

/// `GET /api/v1/markets`.
pub async fn markets(State(state): State<Shared>) -> Json<Value> {
    let rows: Vec<Value> = state
        .table
        .markets
        .iter()
        .map(|m| {
            let (base, quote) = state.assets_of(m);
            json!({
                "symbol": m.symbol,
                "baseAsset": base.name,
                "quoteAsset": quote.name,
                "tickSize": asset_text(m.tick_units, quote),
                "lotSize": asset_text(m.lot_units, base),
                "minQuantity": quantity_text(m.min_lots, m, base),
                "makerFeeBps": m.maker_fee_bps,
                "takerFeeBps": m.taker_fee_bps,
            })
        })
        .collect();
    Json(Value::Array(rows))
}

/// Depth levels as `[[price, qty], ...]` text.
pub fn depth_json(state: &AppState, market: &MarketSpec, snapshot: &DepthSnapshot) -> Value {
    let (base, quote) = state.assets_of(market);
    let side = |levels: &[(i64, i64)]| -> Vec<Value> {
        levels
            .iter()
            .map(|(p, q)| {
                json!([
                    price_text(*p, market, quote),
                    quantity_text(*q, market, base)
                ])
            })
            .collect()
    };
    json!({
        "symbol": market.symbol,
        "bids": side(&snapshot.bids),
        "asks": side(&snapshot.asks),
        "sequence": snapshot.update_id,
    })
}

/// `GET /api/v1/depth?symbol=&limit=`: asked of the engine itself, so it is exact.
pub async fn depth(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    let market = symbol_param(&state, &params)?;
    let max = state.config.engine.capacity.depth_levels.max(1);
    let limit = parse_limit(&params, 100.min(max), max)?;
    let snapshot = query_depth(&state, market.id, limit as u32).await?;
    Ok(Json(depth_json(&state, market, &snapshot)))
}

/// One depth query to the engine.
pub async fn query_depth(state: &AppState, market: u32, limit: u32) -> ApiResult<DepthSnapshot> {
    let request = DepthRequest { market, limit };
    let events = state
        .link
        .request(Command::new(CommandKind::QueryDepth as u8, &request), 0)
        .await?;
    check_rejected(&events)?;
    let mut snapshot = DepthSnapshot {
        bids: Vec::new(),
        asks: Vec::new(),
        update_id: None,
    };
    for level in bodies::<BookDelta>(&events, EventKind::DepthLevel) {
        let side = if level.side == SIDES[0].1 as u8 {
            &mut snapshot.bids
        } else {
            &mut snapshot.asks
        };
        side.push((level.price, level.quantity));
        snapshot.update_id = Some(level.update_id);
    }
    snapshot
        .bids
        .sort_by_key(|level| std::cmp::Reverse(level.0));
    snapshot.asks.sort_by_key(|level| level.0);
    Ok(snapshot)
}

/// `GET /api/v1/trades?symbol=&limit=` (newest first).
pub async fn trades(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    let market = symbol_param(&state, &params)?;
    let limit = parse_limit(&params, 100, state.config.recent_trades.max(1))?;
    let (base, quote) = state.assets_of(market);
    let rows = state
        .link
        .market_data
        .with(market.id, |s| {
            s.trades
                .iter()
                .rev()
                .take(limit)
                .map(|t| {
                    json!({
                        "tradeId": t.trade_id,
                        "price": price_text(t.price, market, quote),
                        "quantity": quantity_text(t.quantity, market, base),
                        "side": if t.taker_side == SIDES[0].1 as u8 { "buy" } else { "sell" },
                        "time": t.time_ms,
                    })
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok(Json(Value::Array(rows)))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A ticker as clients see it (also the `ticker@` stream's data).
pub fn ticker_json(state: &AppState, market: &MarketSpec) -> Value {
    let (base, quote) = state.assets_of(market);
    let day = state
        .link
        .market_data
        .with(market.id, |s| ticker(&s.minutes, now_ms()))
        .flatten();
    let Some(day) = day else {
        return json!({ "symbol": market.symbol, "lastPrice": null, "openPrice": null, "highPrice": null,
            "lowPrice": null, "volume": "0", "quoteVolume": "0", "priceChange": "0",
            "priceChangePercent": "0", "count": 0 });
    };
    let change = day.close - day.open;
    let percent = if day.open == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(change) * Decimal::from(100) / Decimal::from(day.open)).round_dp(2)
    };
    json!({
        "symbol": market.symbol,
        "lastPrice": price_text(day.close, market, quote),
        "openPrice": price_text(day.open, market, quote),
        "highPrice": price_text(day.high, market, quote),
        "lowPrice": price_text(day.low, market, quote),
        "volume": quantity_text(day.volume, market, base),
        "quoteVolume": format_units(day.tick_lots * market.quote_per_tick_lot as i128, quote.decimals),
        "priceChange": price_text(change, market, quote),
        "priceChangePercent": percent.normalize().to_string(),
        "count": day.trades,
    })
}

/// `GET /api/v1/tickers` (all) or `?symbol=` (one).
pub async fn tickers(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    if params.contains_key("symbol") || params.contains_key("market") {
        let market = symbol_param(&state, &params)?;
        return Ok(Json(ticker_json(&state, market)));
    }
    Ok(Json(Value::Array(
        state
            .table
            .markets
            .iter()
            .map(|m| ticker_json(&state, m))
            .collect(),
    )))
}

/// Interval name -> ms, or 400 naming `interval`.
pub fn interval_ms(text: &str) -> ApiResult<u64> {
    INTERVALS
        .iter()
        .find(|(n, _)| *n == text)
        .map(|(_, ms)| *ms)
        .ok_or_else(|| {
            let names: Vec<&str> = INTERVALS.iter().map(|(n, _)| *n).collect();
            ApiError::field(
                "interval",
                format!("{text:?} is not one of {}", names.join(", ")),
            )
        })
}

/// A kline as `{openTime, open, high, low, close, volume, quoteVolume, trades}`.
pub fn kline_json(state: &AppState, market: &MarketSpec, candle: &Candle, interval: u64) -> Value {
    let (base, quote) = state.assets_of(market);
    json!({
        "openTime": candle.open_time_ms,
        "closeTime": candle.open_time_ms + interval - 1,
        "open": price_text(candle.open, market, quote),
        "high": price_text(candle.high, market, quote),
        "low": price_text(candle.low, market, quote),
        "close": price_text(candle.close, market, quote),
        "volume": quantity_text(candle.volume, market, base),
        "quoteVolume": format_units(candle.tick_lots * market.quote_per_tick_lot as i128, quote.decimals),
        "trades": candle.trades,
    })
}

fn time_param(params: &HashMap<String, String>, name: &str, default: u64) -> ApiResult<u64> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::field(name, "must be milliseconds since the Unix epoch")),
    }
}

/// `GET /api/v1/klines?symbol=&interval=&startTime=&endTime=&limit=`.
pub async fn klines(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    let market = symbol_param(&state, &params)?;
    let interval = interval_ms(params.get("interval").map(String::as_str).unwrap_or("1m"))?;
    let start = time_param(&params, "startTime", 0)?;
    let end = time_param(&params, "endTime", u64::MAX)?;
    if start > end {
        return Err(ApiError::field("startTime", "must not be after endTime"));
    }
    let limit = parse_limit(&params, 500, 1000)?;
    let candles = state
        .link
        .market_data
        .with(market.id, |s| {
            aggregate(&s.minutes, interval, start, end, limit)
        })
        .unwrap_or_default();
    Ok(Json(Value::Array(
        candles
            .iter()
            .map(|c| kline_json(&state, market, c, interval))
            .collect(),
    )))
}

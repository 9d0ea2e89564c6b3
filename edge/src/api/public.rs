//! Public market data: markets, depth, trades, tickers, klines.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::Json;
use pinwheel_candles::{CandleError, Interval, Kline, Ticker};
use pinwheel_engine::config::MarketSpec;
use pinwheel_engine::message::{BookDelta, Command, CommandKind, DepthRequest, EventKind};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::api::error::{ApiError, ApiResult};
use crate::api::time_range::TimeRange;
use crate::api::trading::parse_limit;
use crate::api::translate::{bodies, check_rejected, SIDES};
use crate::market_data::DepthSnapshot;
use crate::state::{AppState, Shared};
use crate::units::{asset_text, price_text, quantity_text};

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
    for header in bodies::<BookDelta>(&events, EventKind::DepthSequence) {
        snapshot.update_id = Some(header.update_id);
    }
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

/// `GET /api/v1/trades?symbol=&limit=&startTime=&endTime=` (newest first; the range as
/// [`TimeRange::select`] picks it, among the recent trades this edge keeps).
pub async fn trades(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    let market = symbol_param(&state, &params)?;
    let limit = parse_limit(&params, 100, state.config.recent_trades.max(1))?;
    let range = TimeRange::from_params(&params)?;
    let (base, quote) = state.assets_of(market);
    let rows = state
        .link
        .market_data
        .with(market.id, |s| {
            range
                .select(s.trades.iter(), |t| t.time_ms as i64, limit)
                .into_iter()
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A candle query's error: the caller's mistake is 400, an unreachable QuestDB 503; both
/// with the candle store's stable code.
pub fn candle_error(error: CandleError) -> ApiError {
    if error.is_client_error() {
        ApiError::bad(error.code(), error.to_string())
    } else {
        ApiError::unavailable(error.code(), error.to_string())
    }
}

/// A ticker as clients see it (also the `ticker@` stream's data). A market that never
/// traded has null prices.
pub fn ticker_json(state: &AppState, market: &MarketSpec, day: &Ticker) -> Value {
    if day.last == 0 && day.trades == 0 {
        return json!({ "symbol": market.symbol, "lastPrice": null, "openPrice": null, "highPrice": null,
            "lowPrice": null, "volume": "0", "quoteVolume": "0", "priceChange": "0",
            "priceChangePercent": "0", "count": 0 });
    }
    let units = state.units(market);
    let change = day.last - day.open;
    let percent = if day.open == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(change) * Decimal::from(100) / Decimal::from(day.open)).round_dp(2)
    };
    json!({
        "symbol": market.symbol,
        "lastPrice": units.price(day.last),
        "openPrice": units.price(day.open),
        "highPrice": units.price(day.high),
        "lowPrice": units.price(day.low),
        "volume": units.quantity(day.volume),
        "quoteVolume": units.quote(day.quote_volume),
        "priceChange": units.price(change),
        "priceChangePercent": percent.normalize().to_string(),
        "count": day.trades,
    })
}

async fn market_ticker(state: &AppState, market: &MarketSpec) -> ApiResult<Value> {
    let day = state
        .candles
        .ticker_24h(&market.symbol, now_ms())
        .await
        .map_err(candle_error)?;
    Ok(ticker_json(state, market, &day))
}

/// `GET /api/v1/tickers` (all) or `?symbol=` (one).
pub async fn tickers(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    if params.contains_key("symbol") || params.contains_key("market") {
        let market = symbol_param(&state, &params)?;
        return Ok(Json(market_ticker(&state, market).await?));
    }
    let mut rows = Vec::with_capacity(state.table.markets.len());
    for market in &state.table.markets {
        rows.push(market_ticker(&state, market).await?);
    }
    Ok(Json(Value::Array(rows)))
}

/// An interval name (`1m 5m 15m 1h 4h 1d 1w`), or 400 naming `field`.
pub fn parse_interval(field: &str, text: &str) -> ApiResult<Interval> {
    text.parse()
        .map_err(|e: CandleError| ApiError::field(field, e))
}

/// A kline as `{openTime, closeTime, open, high, low, close, volume, quoteVolume, trades}`.
pub fn kline_json(state: &AppState, market: &MarketSpec, kline: &Kline) -> Value {
    let units = state.units(market);
    json!({
        "openTime": kline.open_time_ms,
        "closeTime": kline.close_time_ms,
        "open": units.price(kline.open),
        "high": units.price(kline.high),
        "low": units.price(kline.low),
        "close": units.price(kline.close),
        "volume": units.quantity(kline.volume),
        "quoteVolume": units.quote(kline.quote_volume),
        "trades": kline.trades,
    })
}

/// `GET /api/v1/klines?symbol=&interval=&startTime=&endTime=&limit=`: with `startTime` the
/// first `limit` candles from it, without it the last `limit` up to `endTime` (default now).
pub async fn klines(State(state): State<Shared>, Query(params): Params) -> ApiResult<Json<Value>> {
    let market = symbol_param(&state, &params)?;
    let interval = parse_interval(
        "interval",
        params.get("interval").map(String::as_str).unwrap_or("1m"),
    )?;
    let range = TimeRange::from_params(&params)?;
    let limit = parse_limit(&params, 500, 1000)?;
    // No candle lies after now: an end in the future would only add empty ones.
    let end = range.end_ms.map_or_else(now_ms, |end| end.min(now_ms()));
    let start = range.start_ms;
    if start.is_some_and(|start| start > end) {
        return Ok(Json(Value::Array(Vec::new())));
    }
    let candles = state
        .candles
        .klines(&market.symbol, interval, start, end, limit)
        .await
        .map_err(candle_error)?;
    Ok(Json(Value::Array(
        candles
            .iter()
            .map(|kline| kline_json(&state, market, kline))
            .collect(),
    )))
}

//! Orders: place, query, cancel, amend, list; fills; quotes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use pinwheel_engine::message::{
    text_str, AmendOrder, Command, CommandKind, EventKind, MarketScope, OrderAddress, OrderUpdate,
    QuoteResult, ALL_MARKETS, TEXT_LEN,
};
use serde_json::{json, Value};

use crate::api::body::JsonBody;
use crate::api::error::{ApiError, ApiResult};
use crate::api::time_range::TimeRange;
use crate::api::translate::{
    bodies, check_rejected, client_order_id, client_order_id_text, fill_json, order_answer,
    order_details_json, order_json, place_order, quote_request,
};
use crate::market_data::orders::{HistoryQuery, Lookup};
use crate::sessions::extract::{Body, User};
use crate::state::{AppState, Shared};
use crate::units::{asset_text, price_text, price_ticks, quantity_lots, quantity_text};

type Params = Query<HashMap<String, String>>;

/// Most fills returned by `/fills`.
const MAX_FILLS: usize = 1000;

fn order_id(text: &str) -> ApiResult<u64> {
    positive_id("orderId", text)
}

fn positive_id(field: &str, text: &str) -> ApiResult<u64> {
    match text.parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::field(
            field,
            format!("{text:?} is not a positive integer id"),
        )),
    }
}

/// Most orders one `/orders/history` page holds.
const MAX_HISTORY: usize = 1000;

/// `GET /api/v1/orders/history?market=&limit=&startTime=&endTime=&fromId=`: the user's orders
/// of every status, newest first; `fromId` pages (orders with an id up to it), the range
/// picks by creation time.
pub async fn history(
    State(state): State<Shared>,
    user: User,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let query = HistoryQuery {
        market: market_filter(&state, &params)?,
        range: TimeRange::from_params(&params)?,
        from_id: params
            .get("fromId")
            .map(|text| positive_id("fromId", text))
            .transpose()?,
        limit: parse_limit(&params, 100, MAX_HISTORY)?,
    };
    let rows: Vec<Value> = state
        .link
        .orders
        .history(user.id, &query)
        .iter()
        .map(|record| order_details_json(&state, &record.order, Some(record)))
        .collect();
    Ok(Json(Value::Array(rows)))
}

fn market_scope(state: &AppState, params: &HashMap<String, String>) -> ApiResult<u32> {
    match params.get("market").or_else(|| params.get("symbol")) {
        None => Ok(ALL_MARKETS),
        Some(symbol) => Ok(state.market("market", symbol)?.id),
    }
}

/// The `market` (or `symbol`) a list is filtered by; `None` for all.
fn market_filter(state: &AppState, params: &HashMap<String, String>) -> ApiResult<Option<u32>> {
    Ok(match market_scope(state, params)? {
        ALL_MARKETS => None,
        id => Some(id),
    })
}

/// `POST /api/v1/order`.
pub async fn place(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    user.check_body(&body)?;
    let command = place_order(&state, &body)?;
    let events = state.link.request(command, user.id).await?;
    Ok(Json(order_answer(&state, &events)?))
}

/// `GET /api/v1/order/{id}?market=`: an open order as the engine has it, a closed one
/// from the order store.
pub async fn get(
    State(state): State<Shared>,
    user: User,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let address = OrderAddress::by_id(market_scope(&state, &params)?, order_id(&id)?);
    find_order(&state, user, address).await
}

/// `GET /api/v1/order?orderId=|clientOrderId=&market=`: as `GET /order/{id}`, by either id.
pub async fn get_by_query(
    State(state): State<Shared>,
    user: User,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let market = market_scope(&state, &params)?;
    let id = params.get("orderId").map(|t| order_id(t)).transpose()?;
    let client_id = client_order_id_text(params.get("clientOrderId").map(String::as_str))?;
    find_order(&state, user, either_id(market, id, client_id)?).await
}

/// The order `market`, `order_id` or (without one) `client_order_id` name; at least one id
/// must be given.
fn either_id(
    market: u32,
    order_id: Option<u64>,
    client_order_id: [u8; TEXT_LEN],
) -> ApiResult<OrderAddress> {
    let address = OrderAddress {
        market,
        order_id: order_id.unwrap_or(0),
        client_order_id,
        ..OrderAddress::default()
    };
    if address.order_id == 0 && address.client_order_id == [0; TEXT_LEN] {
        return Err(ApiError::missing("orderId"));
    }
    Ok(address)
}

/// The order store's copy of the order `address` names, in its market.
fn stored_order(state: &AppState, user: u64, address: &OrderAddress) -> Lookup {
    let orders = &state.link.orders;
    let lookup = if address.order_id != 0 {
        orders.get(user, address.order_id)
    } else {
        orders.by_client_id(user, &address.client_order_id)
    };
    match lookup {
        Lookup::Found(record)
            if address.market != ALL_MARKETS && record.order.market != address.market =>
        {
            Lookup::Unknown
        }
        other => other,
    }
}

/// A closed order answers from the store (it never changes again); an open one from the
/// engine; one the engine does not know from the store again (it may have closed meanwhile),
/// or `ORDER_ARCHIVED` past retention.
async fn find_order(state: &AppState, user: User, address: OrderAddress) -> ApiResult<Json<Value>> {
    let closed = |lookup: &Lookup| match lookup {
        Lookup::Found(record) if !record.is_open() => Some(*record),
        _ => None,
    };
    if let Some(record) = closed(&stored_order(state, user.id, &address)) {
        return Ok(Json(order_details_json(
            state,
            &record.order,
            Some(&record),
        )));
    }
    let command = Command::new(CommandKind::QueryOrder as u8, &address);
    let events = state.link.request(command, user.id).await?;
    let unknown = match check_rejected(&events) {
        Ok(()) => {
            let order = bodies::<OrderUpdate>(&events, EventKind::OrderUpdate)
                .into_iter()
                .next()
                .ok_or_else(|| {
                    ApiError::unavailable("ENGINE_ERROR", "the engine's answer carried no order")
                })?;
            let record = match state.link.orders.get(user.id, order.order_id) {
                Lookup::Found(record) => Some(record),
                _ => None,
            };
            return Ok(Json(order_details_json(state, &order, record.as_ref())));
        }
        Err(error) => error,
    };
    let again = stored_order(state, user.id, &address);
    if let Some(record) = closed(&again) {
        return Ok(Json(order_details_json(
            state,
            &record.order,
            Some(&record),
        )));
    }
    match again {
        Lookup::Archived { through } => Err(archived(state, &address, through)),
        _ => Err(unknown),
    }
}

fn archived(state: &AppState, address: &OrderAddress, through: u64) -> ApiError {
    let named = if address.order_id != 0 {
        format!("order {}", address.order_id)
    } else {
        format!("clientOrderId {:?}", text_str(&address.client_order_id))
    };
    ApiError::not_found(
        "ORDER_ARCHIVED",
        format!(
            "{named} is past retention: this user's closed orders up to order {through} are no longer kept (the newest {} closed orders per user are; edge.order_retention)",
            state.link.orders.retention()
        ),
    )
}

/// `DELETE /api/v1/order/{id}`.
pub async fn cancel(
    State(state): State<Shared>,
    user: User,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let address = OrderAddress::by_id(market_scope(&state, &params)?, order_id(&id)?);
    cancel_one(&state, user, address).await
}

/// `DELETE /api/v1/order {orderId | clientOrderId, market}`.
pub async fn cancel_by_body(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    user.check_body(&body)?;
    let market = match body.string("market")? {
        Some(symbol) => state.market("market", &symbol)?.id,
        None => ALL_MARKETS,
    };
    let address = either_id(market, body.id("orderId")?, client_order_id(&body)?)?;
    cancel_one(&state, user, address).await
}

async fn cancel_one(state: &AppState, user: User, address: OrderAddress) -> ApiResult<Json<Value>> {
    let events = state
        .link
        .request(
            Command::new(CommandKind::CancelOrder as u8, &address),
            user.id,
        )
        .await?;
    Ok(Json(order_answer(state, &events)?))
}

/// `DELETE /api/v1/orders?market=` -> the cancelled orders.
pub async fn cancel_all(
    State(state): State<Shared>,
    user: User,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    orders_in_scope(&state, user, &params, CommandKind::CancelAll).await
}

/// Sends `kind` (cancel-all or the open-orders query) for the `market=` scope; answers the
/// orders it reports.
async fn orders_in_scope(
    state: &AppState,
    user: User,
    params: &HashMap<String, String>,
    kind: CommandKind,
) -> ApiResult<Json<Value>> {
    let scope = MarketScope::of(market_scope(state, params)?);
    let command = Command::new(kind as u8, &scope);
    let events = state.link.request(command, user.id).await?;
    check_rejected(&events)?;
    let orders: Vec<Value> = bodies::<OrderUpdate>(&events, EventKind::OrderUpdate)
        .iter()
        .map(|o| order_json(state, o))
        .collect();
    Ok(Json(Value::Array(orders)))
}

/// `PATCH /api/v1/order/{id} {price?, quantity?, market?}`.
pub async fn amend(
    State(state): State<Shared>,
    user: User,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    user.check_body(&body)?;
    let order_id = order_id(&id)?;
    if body.raw("price").is_none() && body.raw("quantity").is_none() {
        return Err(ApiError::missing("price"));
    }
    let market_id = match body.string("market")? {
        Some(symbol) => state.market("market", &symbol)?.id,
        None => current_market(&state, user, order_id).await?,
    };
    let market = state
        .market_by_id(market_id)
        .ok_or_else(|| ApiError::reject(pinwheel_engine::message::RejectReason::UnknownMarket))?;
    let (base, quote) = state.assets_of(market);
    let amend = AmendOrder {
        market: market_id,
        order_id,
        new_price: body
            .raw("price")
            .map(|raw| price_ticks(raw, "price", market, quote))
            .transpose()?
            .unwrap_or(0),
        new_quantity: body
            .raw("quantity")
            .map(|raw| quantity_lots(raw, "quantity", market, base))
            .transpose()?
            .unwrap_or(0),
        ..Default::default()
    };
    let events = state
        .link
        .request(Command::new(CommandKind::AmendOrder as u8, &amend), user.id)
        .await?;
    Ok(Json(order_answer(&state, &events)?))
}

async fn current_market(state: &AppState, user: User, order_id: u64) -> ApiResult<u32> {
    let address = OrderAddress {
        market: ALL_MARKETS,
        order_id,
        ..Default::default()
    };
    let events = state
        .link
        .request(
            Command::new(CommandKind::QueryOrder as u8, &address),
            user.id,
        )
        .await?;
    check_rejected(&events)?;
    bodies::<OrderUpdate>(&events, EventKind::OrderUpdate)
        .first()
        .map(|o| o.market)
        .ok_or_else(|| ApiError::reject(pinwheel_engine::message::RejectReason::UnknownOrder))
}

/// `GET /api/v1/order/open?market=`.
pub async fn open(
    State(state): State<Shared>,
    user: User,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    orders_in_scope(&state, user, &params, CommandKind::QueryOpenOrders).await
}

/// `GET /api/v1/fills?market=&limit=&startTime=&endTime=` (newest first).
pub async fn fills(
    State(state): State<Shared>,
    user: User,
    Query(params): Params,
) -> ApiResult<Json<Value>> {
    let market = market_filter(&state, &params)?;
    let limit = parse_limit(&params, 100, MAX_FILLS)?;
    let range = TimeRange::from_params(&params)?;
    let fills: Vec<Value> = state
        .link
        .fills
        .in_range(user.id, market, &range, limit)
        .iter()
        .filter_map(|r| {
            state
                .market_by_id(r.fill.market)
                .map(|m| fill_json(&state, m, &r.fill, Some(r.time_ms)))
        })
        .collect();
    Ok(Json(Value::Array(fills)))
}

/// `limit` query parameter: 1..=max, default `default`.
pub fn parse_limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> ApiResult<usize> {
    match params.get("limit") {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                "limit",
                format!("must be a whole number from 1 to {max}"),
            )),
        },
    }
}

/// `POST /api/v1/order/quote {market, side, quantity | quoteQuantity}`.
pub async fn quote(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    user.check_body(&body)?;
    let command = quote_request(&state, &body)?;
    let events = state.link.request(command, user.id).await?;
    check_rejected(&events)?;
    let result: QuoteResult = bodies(&events, EventKind::Quote)
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::unavailable("ENGINE_ERROR", "the engine's answer carried no quote")
        })?;
    Ok(Json(quote_json(&state, &body, &result)?))
}

fn quote_json(state: &AppState, body: &JsonBody, result: &QuoteResult) -> ApiResult<Value> {
    let market = state
        .market_by_id(result.market)
        .ok_or_else(|| ApiError::missing("market"))?;
    let (base, quote) = state.assets_of(market);
    let filled = result.fillable_quantity > 0;
    Ok(json!({
        "market": market.symbol,
        "side": body.string("side")?.unwrap_or_default().to_lowercase(),
        "fillableQuantity": quantity_text(result.fillable_quantity, market, base),
        "cost": asset_text(result.cost, quote),
        "bestPrice": if filled { Value::from(price_text(result.best_price, market, quote)) } else { Value::Null },
        "worstPrice": if filled { Value::from(price_text(result.worst_price, market, quote)) } else { Value::Null },
    }))
}

//! JSON <-> engine records: request bodies to commands, events to answers.

use pinwheel_engine::config::{AssetSpec, MarketSpec};
use pinwheel_engine::message::{
    text_field, text_str, Command, CommandKind, Event, EventKind, Fill, OrderStatus, OrderType,
    OrderUpdate, PlaceOrder, QuoteRequest, Reject, RejectReason, SelfTradePrevention, Side,
    TimeInForce, FLAG_POST_ONLY, TEXT_LEN,
};
use serde_json::{json, Value};

use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::market_data::orders::OrderRecord;
use crate::state::AppState;
use crate::units::{
    asset_text, asset_units, price_text, price_ticks, quantity_lots, quantity_text, Amount,
};

/// Side names (the engine's wire table).
pub const SIDES: [(&str, Side); 2] = Side::NAMES;
/// Order type names.
pub const TYPES: [(&str, OrderType); 2] = OrderType::NAMES;
/// Time-in-force names.
pub const TIFS: [(&str, TimeInForce); 3] = TimeInForce::NAMES;
/// Self-trade prevention names.
pub const STPS: [(&str, SelfTradePrevention); 3] = SelfTradePrevention::NAMES;

/// A client order id: printable ASCII, at most 32 bytes.
pub fn client_order_id(body: &JsonBody) -> Result<[u8; TEXT_LEN], ApiError> {
    client_order_id_text(body.string("clientOrderId")?.as_deref())
}

/// A client order id's text (a body field or a query parameter); none is all zeros.
pub fn client_order_id_text(text: Option<&str>) -> Result<[u8; TEXT_LEN], ApiError> {
    let Some(text) = text else {
        return Ok([0; TEXT_LEN]);
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(
            "clientOrderId",
            "must be printable ASCII without spaces",
        ));
    }
    text_field::<TEXT_LEN>(text)
        .ok_or_else(|| ApiError::field("clientOrderId", "must be at most 32 characters"))
}

/// Builds a `PlaceOrder` command from a `POST /order` body.
pub fn place_order(state: &AppState, body: &JsonBody) -> Result<Command, ApiError> {
    let market = state.market("market", &body.required_string("market")?)?;
    let (base, quote) = state.assets_of(market);
    let side = body
        .choice("side", &SIDES)?
        .ok_or_else(|| ApiError::missing("side"))?;
    let order_type = body.choice("type", &TYPES)?.unwrap_or(OrderType::Limit);
    let default_tif = if order_type == OrderType::Market {
        TimeInForce::Ioc
    } else {
        TimeInForce::Gtc
    };
    let tif = body.choice("timeInForce", &TIFS)?.unwrap_or(default_tif);
    let mut order = PlaceOrder {
        market: market.id,
        side: side as u8,
        order_type: order_type as u8,
        time_in_force: tif as u8,
        stp: body.choice("stp", &STPS)?.map_or(0, |s| s as u8),
        client_order_id: client_order_id(body)?,
        ..Default::default()
    };
    if body.boolean("postOnly")?.unwrap_or(false) {
        if order_type == OrderType::Market {
            return Err(ApiError::field(
                "postOnly",
                "market orders cannot be post-only",
            ));
        }
        order.flags |= FLAG_POST_ONLY;
    }
    order_sizes(body, &mut order, order_type, side, market, (base, quote))?;
    Ok(Command::new(CommandKind::PlaceOrder as u8, &order))
}

/// The price and size fields of a place body, by order type: a limit order carries a price
/// and a quantity; a market order a quantity, or (buys only) a quote quantity, never both.
fn order_sizes(
    body: &JsonBody,
    order: &mut PlaceOrder,
    order_type: OrderType,
    side: Side,
    market: &MarketSpec,
    (base, quote): (&AssetSpec, &AssetSpec),
) -> Result<(), ApiError> {
    let quantity = body.raw("quantity");
    let quote_quantity = body.raw("quoteQuantity");
    match order_type {
        OrderType::Limit => {
            order.price = price_ticks(body.required_raw("price")?, "price", market, quote)?;
            if quote_quantity.is_some() {
                return Err(ApiError::field(
                    "quoteQuantity",
                    "only market orders take quoteQuantity",
                ));
            }
            let quantity = quantity.ok_or_else(|| ApiError::missing("quantity"))?;
            order.quantity = quantity_lots(quantity, "quantity", market, base)?;
        }
        OrderType::Market => {
            if body.raw("price").is_some() {
                return Err(ApiError::field("price", "market orders take no price"));
            }
            match (quantity, quote_quantity) {
                (Some(q), None) => order.quantity = quantity_lots(q, "quantity", market, base)?,
                (None, Some(q)) if side == Side::Buy => {
                    order.quote_quantity =
                        asset_units(q, "quoteQuantity", quote, Amount::QuoteQuantity)?
                }
                (None, Some(_)) => {
                    return Err(ApiError::field(
                        "quoteQuantity",
                        "only buy orders may be sized by quote",
                    ))
                }
                (None, None) => return Err(ApiError::missing("quantity")),
                (Some(_), Some(_)) => {
                    return Err(ApiError::field(
                        "quoteQuantity",
                        "give quantity or quoteQuantity, not both",
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Builds a `QueryQuote` command from a `POST /order/quote` body.
pub fn quote_request(state: &AppState, body: &JsonBody) -> Result<Command, ApiError> {
    let market = state.market("market", &body.required_string("market")?)?;
    let (base, quote) = state.assets_of(market);
    let side = body
        .choice("side", &SIDES)?
        .ok_or_else(|| ApiError::missing("side"))?;
    let mut request = QuoteRequest {
        market: market.id,
        side: side as u8,
        ..Default::default()
    };
    match (body.raw("quantity"), body.raw("quoteQuantity")) {
        (Some(q), None) => request.quantity = quantity_lots(q, "quantity", market, base)?,
        (None, Some(q)) if side == Side::Buy => {
            request.quote_quantity = asset_units(q, "quoteQuantity", quote, Amount::QuoteQuantity)?
        }
        (None, Some(_)) => {
            return Err(ApiError::field(
                "quoteQuantity",
                "only buy quotes may be sized by quote",
            ))
        }
        (None, None) => return Err(ApiError::missing("quantity")),
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "quoteQuantity",
                "give quantity or quoteQuantity, not both",
            ))
        }
    }
    Ok(Command::new(CommandKind::QueryQuote as u8, &request))
}

/// The first reject among `events` as an error (NOT_OWNER reads as UNKNOWN_ORDER).
pub fn check_rejected(events: &[Event]) -> Result<(), ApiError> {
    match events
        .iter()
        .find(|e| e.head.kind == EventKind::Rejected as u8)
    {
        None => Ok(()),
        Some(event) => {
            let reject: Reject = event.body();
            Err(ApiError::reject(
                RejectReason::from_u16(reject.reason).unwrap_or(RejectReason::InvalidCommand),
            ))
        }
    }
}

/// Bodies of all events of `kind`.
pub fn bodies<B: bytemuck::Pod>(events: &[Event], kind: EventKind) -> Vec<B> {
    events
        .iter()
        .filter(|e| e.head.kind == kind as u8)
        .map(|e| e.body())
        .collect()
}

/// An order as clients see it.
pub fn order_json(state: &AppState, order: &OrderUpdate) -> Value {
    let Some(market) = state.market_by_id(order.market) else {
        return json!({ "orderId": order.order_id });
    };
    let (base, quote) = state.assets_of(market);
    let remaining = (order.quantity - order.executed_quantity).max(0);
    json!({
        "orderId": order.order_id,
        "clientOrderId": text_str(&order.client_order_id),
        "market": market.symbol,
        "side": Side::from_u8(order.side).map_or("UNKNOWN", Side::name),
        "type": OrderType::from_u8(order.order_type).map_or("UNKNOWN", OrderType::name),
        "timeInForce": TimeInForce::from_u8(order.time_in_force).map_or("UNKNOWN", TimeInForce::name),
        "price": price_text(order.price, market, quote),
        "quantity": quantity_text(order.quantity, market, base),
        "status": status_name(order.status),
        "executedQty": quantity_text(order.executed_quantity, market, base),
        "remainingQty": quantity_text(remaining, market, base),
        "executedQuoteQty": asset_text(order.executed_quote, quote),
    })
}

/// An order with what the order store adds to the engine's update: average price, fees and
/// times (`record` is the store's copy; absent, they are null).
pub fn order_details_json(
    state: &AppState,
    order: &OrderUpdate,
    record: Option<&OrderRecord>,
) -> Value {
    let mut value = order_json(state, order);
    let Some(market) = state.market_by_id(order.market) else {
        return value;
    };
    let average = state
        .units(market)
        .average_price(order.executed_quote, order.executed_quantity);
    value["avgPrice"] = average.map_or(Value::Null, Value::from);
    let fee_asset = record
        .and_then(|r| r.fee_asset)
        .and_then(|id| state.table.assets.get(id as usize));
    value["fee"] = match (record, fee_asset) {
        (Some(r), Some(asset)) => Value::from(asset_text(r.fee, asset)),
        _ => Value::from("0"),
    };
    value["feeAsset"] = fee_asset.map_or(Value::Null, |a| Value::from(a.name.clone()));
    value["time"] = record.map_or(Value::Null, |r| Value::from(r.created_ms));
    value["updateTime"] = record.map_or(Value::Null, |r| Value::from(r.updated_ms));
    value
}

/// `NEW`, `FILLED`, ...
pub fn status_name(status: u8) -> &'static str {
    OrderStatus::from_u8(status).map_or("UNKNOWN", OrderStatus::name)
}

/// One fill as clients see it.
pub fn fill_json(
    state: &AppState,
    market: &MarketSpec,
    fill: &Fill,
    time_ms: Option<u64>,
) -> Value {
    let (base, quote) = state.assets_of(market);
    let fee_asset = state.table.assets.get(fill.fee_asset as usize);
    let maker_order = if fill.is_maker != 0 {
        fill.order_id
    } else {
        fill.counter_order_id
    };
    let mut value = json!({
        "tradeId": fill.trade_id,
        "orderId": fill.order_id,
        "market": market.symbol,
        "side": Side::from_u8(fill.side).map_or("UNKNOWN", Side::name),
        "price": price_text(fill.price, market, quote),
        "quantity": quantity_text(fill.quantity, market, base),
        "fee": fee_asset.map(|a| asset_text(fill.fee, a)).unwrap_or_default(),
        "feeAsset": fee_asset.map(|a| a.name.clone()).unwrap_or_default(),
        "makerOrderId": maker_order,
        "isMaker": fill.is_maker != 0,
    });
    if let Some(time) = time_ms {
        value["time"] = json!(time);
    }
    value
}

/// The answer to a command that placed, cancelled or amended one order: the order's last
/// update plus its own fills (a taker's batch also carries the makers' fills and updates).
pub fn order_answer(state: &AppState, events: &[Event]) -> Result<Value, ApiError> {
    check_rejected(events)?;
    let fills: Vec<Fill> = bodies(events, EventKind::Fill);
    let updates: Vec<OrderUpdate> = bodies(events, EventKind::OrderUpdate);
    let taker = fills.iter().find(|f| f.is_maker == 0).map(|f| f.order_id);
    let order = match taker {
        Some(id) => updates.iter().rev().find(|u| u.order_id == id),
        None => updates.last(),
    }
    .ok_or_else(|| ApiError::unavailable("ENGINE_ERROR", "the engine's answer carried no order"))?;
    let mut value = order_json(state, order);
    let market = state.market_by_id(order.market);
    let own: Vec<Value> = fills
        .iter()
        .filter(|f| f.order_id == order.order_id)
        .filter_map(|f| market.map(|m| fill_json(state, m, f, None)))
        .collect();
    value["fills"] = Value::Array(own);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test_state;
    use axum::body::Bytes;

    fn body(text: &str) -> JsonBody {
        JsonBody::parse(&Bytes::from(text.to_string())).unwrap()
    }

    #[test]
    fn limit_order_translates_to_ticks_and_lots() {
        let state = test_state();
        let json = r#"{"market":"BTC-USD","side":"buy","type":"limit","price":"30000.5","quantity":0.25,
                       "timeInForce":"IOC","postOnly":false,"clientOrderId":"c-1","stp":"expire_both"}"#;
        let command = place_order(&state, &body(json)).unwrap();
        assert_eq!(command.head.kind, CommandKind::PlaceOrder as u8);
        let order: PlaceOrder = command.body();
        assert_eq!(order.price, 3_000_050);
        assert_eq!(order.quantity, 25_000);
        assert_eq!(order.time_in_force, TimeInForce::Ioc as u8);
        assert_eq!(order.stp, SelfTradePrevention::ExpireBoth as u8);
        assert_eq!(text_str(&order.client_order_id), "c-1");
    }

    #[test]
    fn market_orders_by_quote_and_bad_combinations() {
        let state = test_state();
        let command = place_order(
            &state,
            &body(r#"{"market":"BTC-USD","side":"buy","type":"market","quoteQuantity":"100"}"#),
        )
        .unwrap();
        let order: PlaceOrder = command.body();
        assert_eq!(order.quote_quantity, 100 * 100_000_000);
        assert_eq!(order.time_in_force, TimeInForce::Ioc as u8);
        let cases = [
            (
                r#"{"market":"BTC-USD","side":"sell","type":"market","quoteQuantity":"1"}"#,
                "quoteQuantity",
            ),
            (
                r#"{"market":"BTC-USD","side":"buy","type":"market","price":"1","quantity":"1"}"#,
                "price",
            ),
            (
                r#"{"market":"BTC-USD","side":"buy","price":"1"}"#,
                "quantity",
            ),
            (
                r#"{"market":"BTC-USD","side":"buy","quantity":"1"}"#,
                "price",
            ),
            (
                r#"{"market":"NOPE","side":"buy","price":"1","quantity":"1"}"#,
                "market",
            ),
            (
                r#"{"market":"BTC-USD","side":"up","price":"1","quantity":"1"}"#,
                "side",
            ),
            (
                r#"{"market":"BTC-USD","side":"buy","price":"1","quantity":"1","clientOrderId":"has space"}"#,
                "clientOrderId",
            ),
            (
                r#"{"market":"BTC-USD","side":"buy","type":"market","quantity":"1","postOnly":true}"#,
                "postOnly",
            ),
        ];
        for (json, field) in cases {
            let error = place_order(&state, &body(json)).unwrap_err();
            assert_eq!(error.status.as_u16(), 400, "{json}");
            assert!(error.message.contains(field), "{json}: {}", error.message);
        }
    }

    #[test]
    fn answers_pick_the_takers_order_and_fills() {
        let state = test_state();
        let maker_fill = Fill {
            trade_id: 1,
            is_maker: 1,
            order_id: 10,
            counter_order_id: 20,
            price: 100,
            quantity: 5,
            ..Default::default()
        };
        let taker_fill = Fill {
            trade_id: 1,
            is_maker: 0,
            order_id: 20,
            counter_order_id: 10,
            price: 100,
            quantity: 5,
            ..Default::default()
        };
        let maker = OrderUpdate {
            order_id: 10,
            quantity: 5,
            executed_quantity: 5,
            status: OrderStatus::Filled as u8,
            ..Default::default()
        };
        let taker = OrderUpdate {
            order_id: 20,
            quantity: 8,
            executed_quantity: 5,
            status: OrderStatus::PartiallyFilled as u8,
            price: 100,
            ..Default::default()
        };
        let events = [
            Event::new(EventKind::OrderUpdate as u8, &taker),
            Event::new(EventKind::Fill as u8, &maker_fill),
            Event::new(EventKind::Fill as u8, &taker_fill),
            Event::new(EventKind::OrderUpdate as u8, &maker),
            Event::new(
                EventKind::Done as u8,
                &pinwheel_engine::message::Done::default(),
            ),
        ];
        let answer = order_answer(&state, &events).unwrap();
        assert_eq!(answer["orderId"], 20);
        assert_eq!(answer["status"], "PARTIALLY_FILLED");
        assert_eq!(answer["executedQty"], "0.00005");
        assert_eq!(answer["remainingQty"], "0.00003");
        assert_eq!(answer["price"], "1");
        assert_eq!(answer["fills"].as_array().unwrap().len(), 1);
        assert_eq!(answer["fills"][0]["makerOrderId"], 10);
        let reject = Reject {
            reason: RejectReason::NotOwner as u16,
            ..Default::default()
        };
        let error =
            order_answer(&state, &[Event::new(EventKind::Rejected as u8, &reject)]).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (404, "UNKNOWN_ORDER"));
    }
}

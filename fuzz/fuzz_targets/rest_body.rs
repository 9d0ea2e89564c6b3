//! JSON request bodies as the REST handlers read them: `JsonBody::parse`, its typed field
//! readers, and the translations of the order and quote routes (`place_order`,
//! `quote_request`). Every refusal is a 4xx with a stable code and a message; an accepted
//! order's price and quantity print (`price_text`, `quantity_text`) to text that parses back
//! to the same ticks and lots.
#![no_main]

use axum::body::Bytes;
use libfuzzer_sys::fuzz_target;
use pinwheel_edge::api::body::JsonBody;
use pinwheel_edge::api::translate::{
    client_order_id, place_order, quote_request, SIDES, STPS, TIFS, TYPES,
};
use pinwheel_edge::units::{price_text, price_ticks, quantity_lots, quantity_text};
use pinwheel_engine::message::{OrderType, PlaceOrder};
use pinwheel_fuzz::edge::{assert_clear, state};

/// Every field name a route reads.
const FIELDS: [&str; 16] = [
    "market",
    "side",
    "type",
    "price",
    "quantity",
    "quoteQuantity",
    "timeInForce",
    "stp",
    "postOnly",
    "clientOrderId",
    "orderId",
    "userId",
    "asset",
    "amount",
    "username",
    "password",
];

fuzz_target!(|data: &[u8]| {
    let body = match JsonBody::parse(&Bytes::copy_from_slice(data)) {
        Ok(body) => body,
        Err(error) => return assert_clear(&error),
    };
    for field in FIELDS {
        let results = [
            body.string(field).map(drop),
            body.boolean(field).map(drop),
            body.id(field).map(drop),
            body.choice(field, &SIDES).map(drop),
            body.choice(field, &TYPES).map(drop),
            body.choice(field, &TIFS).map(drop),
            body.choice(field, &STPS).map(drop),
            body.required_raw(field).map(drop),
        ];
        for error in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_clear(error);
        }
    }
    if let Err(error) = client_order_id(&body) {
        assert_clear(&error);
    }
    if let Err(error) = quote_request(state(), &body) {
        assert_clear(&error);
    }
    match place_order(state(), &body) {
        Ok(command) => round_trip(&command.body()),
        Err(error) => assert_clear(&error),
    }
});

/// The order's numbers print as text that reads back as the same numbers.
fn round_trip(order: &PlaceOrder) {
    let state = state();
    let market = state
        .market_by_id(order.market)
        .expect("a market the edge knows");
    let (base, quote) = state.assets_of(market);
    if order.quantity != 0 {
        let text = quantity_text(order.quantity, market, base);
        assert_eq!(
            quantity_lots(&text, "quantity", market, base),
            Ok(order.quantity)
        );
    }
    if order.order_type == OrderType::Limit as u8 {
        let text = price_text(order.price, market, quote);
        assert_eq!(price_ticks(&text, "price", market, quote), Ok(order.price));
    }
}

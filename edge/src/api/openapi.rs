//! The OpenAPI 3 document, built from one table of endpoints (tested against the router).

use pinwheel_engine::message::REJECTS;
use serde_json::{json, Map, Value};

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Bearer token or API key.
    User,
}

/// One documented endpoint: method, path, access, summary, query parameters, body fields.
pub struct Endpoint {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path as routed (`{id}` for path parameters).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line.
    pub summary: &'static str,
    /// Query parameters.
    pub query: &'static [&'static str],
    /// JSON body fields (decimals accepted as numbers or strings).
    pub body: &'static [&'static str],
}

const fn ep(
    method: &'static str,
    path: &'static str,
    access: Access,
    summary: &'static str,
    query: &'static [&'static str],
    body: &'static [&'static str],
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        summary,
        query,
        body,
    }
}

use Access::{Public, User};

/// Every route the edge serves besides static files.
pub const ENDPOINTS: &[Endpoint] = &[
    ep("POST", "/api/v1/signup", Public, "Create a user; returns 201 {userId, token}", &[], &["username", "password"]),
    ep("POST", "/api/v1/signin", Public, "Sign in; returns {userId, token}", &[], &["username", "password"]),
    ep("POST", "/api/v1/api-keys", User, "Create an API key for bots (header X-API-Key)", &[], &[]),
    ep("POST", "/api/v1/order", User, "Place an order", &[], &["market", "side", "type", "price", "quantity", "quoteQuantity", "timeInForce", "postOnly", "clientOrderId", "stp"]),
    ep("DELETE", "/api/v1/order", User, "Cancel an order named in the body", &[], &["orderId", "clientOrderId", "market"]),
    ep("GET", "/api/v1/order", User, "One order by orderId or clientOrderId, open or closed (404 ORDER_ARCHIVED past retention)", &["orderId", "clientOrderId", "market"], &[]),
    ep("GET", "/api/v1/order/{id}", User, "One order, open or closed: status, executedQty, executedQuoteQty, avgPrice, fee, time, updateTime (404 ORDER_ARCHIVED past retention)", &["market"], &[]),
    ep("DELETE", "/api/v1/order/{id}", User, "Cancel one order", &["market"], &[]),
    ep("PATCH", "/api/v1/order/{id}", User, "Amend price and/or lower quantity", &[], &["price", "quantity", "market"]),
    ep("GET", "/api/v1/order/open", User, "The user's open orders", &["market"], &[]),
    ep("POST", "/api/v1/order/quote", User, "Price a market order against the book", &[], &["market", "side", "quantity", "quoteQuantity"]),
    ep("DELETE", "/api/v1/orders", User, "Cancel all open orders (of one market, or all)", &["market"], &[]),
    ep("GET", "/api/v1/orders/history", User, "The user's orders of every status, newest first; fromId pages (ids up to it); times in ms (below 10^11: seconds)", &["market", "limit", "startTime", "endTime", "fromId"], &[]),
    ep("GET", "/api/v1/fills", User, "The user's recent fills, newest first; times in ms (below 10^11: seconds)", &["market", "limit", "startTime", "endTime"], &[]),
    ep("GET", "/api/v1/balances", User, "Balances: [{asset, available, locked}]", &[], &[]),
    ep("POST", "/api/v1/on-ramp", User, "Deposit (an admin: also for another userId; with public_deposits off, admins only)", &[], &["asset", "amount", "userId"]),
    ep("POST", "/api/v1/withdraw", User, "Withdraw (an admin: also for another userId)", &[], &["asset", "amount", "userId"]),
    ep("POST", "/api/v1/admin/grant", User, "Admins: make a user an admin; returns {userId, username, admin}", &[], &["userId", "username"]),
    ep("POST", "/api/v1/admin/revoke", User, "Admins: take a user's admin role away", &[], &["userId", "username"]),
    ep("POST", "/api/v1/admin/halt", User, "Admins: halt a market (new orders MARKET_HALTED; cancels work); returns {market, halted}", &[], &["market"]),
    ep("POST", "/api/v1/admin/resume", User, "Admins: resume a halted market", &[], &["market"]),
    ep("GET", "/api/v1/markets", Public, "Markets and their sizes and fees", &[], &[]),
    ep("GET", "/api/v1/depth", Public, "Order book levels {bids, asks, sequence}", &["symbol", "limit"], &[]),
    ep("GET", "/api/v1/trades", Public, "Recent public trades, newest first; times in ms (below 10^11: seconds)", &["symbol", "limit", "startTime", "endTime"], &[]),
    ep("GET", "/api/v1/tickers", Public, "24 h tickers (all, or ?symbol= for one)", &["symbol"], &[]),
    ep("GET", "/api/v1/klines", Public, "Candles; startTime alone: the first limit from the first trade at or after it; endTime alone: the last limit up to it; times in ms (below 10^11: seconds)", &["symbol", "interval", "startTime", "endTime", "limit"], &[]),
    ep("GET", "/api/v1/openapi.json", Public, "This document", &[], &[]),
    ep("GET", "/healthz", Public, "Liveness: 200 when the engine is alive, 503 otherwise", &[], &[]),
    ep("GET", "/metrics", Public, "Prometheus metrics", &[], &[]),
    ep("GET", "/ws", Public, "WebSocket: SUBSCRIBE/UNSUBSCRIBE/AUTH; streams depth@S, trade@S, ticker@S, kline@S:I, orders, fills@S", &[], &[]),
];

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters: Vec<Value> = endpoint
        .query
        .iter()
        .map(|name| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }))
        .collect();
    if endpoint.path.contains("{id}") {
        parameters.push(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } }));
    }
    let mut op = json!({
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": {
            "200": { "description": "OK" },
            "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        },
    });
    if !endpoint.body.is_empty() {
        let properties: Map<String, Value> = endpoint
            .body
            .iter()
            .map(|f| (f.to_string(), json!({ "oneOf": [{ "type": "string" }, { "type": "number" }, { "type": "boolean" }] })))
            .collect();
        op["requestBody"] = json!({ "content": { "application/json": { "schema": { "type": "object", "properties": properties } } } });
    }
    if endpoint.access == User {
        op["security"] = json!([{ "bearer": [] }, { "apiKey": [] }]);
    }
    op
}

/// The engine's reject codes, one entry per code, from its table (`REJECTS`): the codes
/// as an enum, and each code's HTTP status and message.
fn reject_codes() -> Value {
    let mut codes: Vec<&str> = Vec::new();
    let mut rejects = Vec::new();
    for row in &REJECTS {
        if !codes.contains(&row.code) {
            codes.push(row.code);
            rejects.push(
                json!({ "code": row.code, "status": row.http_status, "message": row.message }),
            );
        }
    }
    json!({
        "type": "string",
        "enum": codes,
        "description": "Codes of the engine's rejects (the command changed nothing). The edge adds its own: INVALID_PARAMETER, MISSING_PARAMETER, INVALID_JSON, UNAUTHORIZED, FORBIDDEN, RATE_LIMITED, ENGINE_UNAVAILABLE, BUSY, TIMEOUT, ORDER_ARCHIVED, ...",
        "x-rejects": rejects,
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        let entry = paths
            .entry(endpoint.path.to_string())
            .or_insert_with(|| json!({}));
        entry[endpoint.method.to_lowercase()] = operation(endpoint);
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Pinwheel exchange API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Numbers are accepted as JSON numbers or decimal strings and returned as decimal strings." },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" },
            },
            "schemas": {
                "Error": { "type": "object", "required": ["code", "message"],
                    "properties": { "code": { "anyOf": [{ "$ref": "#/components/schemas/RejectCode" }, { "type": "string" }] },
                                    "message": { "type": "string" } } },
                "RejectCode": reject_codes(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::message::RejectReason;

    #[test]
    fn the_document_lists_every_reject_code_with_its_status() {
        let document = document();
        let codes = &document["components"]["schemas"]["RejectCode"];
        for reason in RejectReason::ALL {
            assert!(
                codes["enum"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(reason.code())),
                "{reason:?}"
            );
            let entry = codes["x-rejects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|entry| entry["code"] == reason.code())
                .unwrap();
            assert_eq!(entry["status"], reason.http_status());
            assert_eq!(entry["message"], reason.message());
        }
        assert_eq!(
            codes["enum"].as_array().unwrap().len(),
            RejectReason::ALL.len() - 1,
            "NotOwner shares UNKNOWN_ORDER"
        );
    }
}

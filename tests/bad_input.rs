//! The catalogue of bad input: one table per surface (REST, WebSocket), each row a request
//! with the status, stable code and message fragment it must get, against the real binary
//! (`pinwheel engine` + `pinwheel edge`, started by `tests/edge_support`). After every row the
//! state a user can observe (both users' balances and open orders, and the engine's own depth
//! snapshot of BTC-USD with its update id, via `edge_support::observe`) must be what it was
//! before the first row: bad input changes nothing.
#![allow(clippy::too_many_lines)] // Tests opt out: a catalogue reads best as one table.

mod common;
mod edge_support;

use edge_support::{expired_token, observe, send, Exchange, Socket, Trader};
use serde_json::{json, Value};

const BTC: &str = "BTC-USD";

/// Who a row's request comes from.
#[derive(Clone, Copy, Debug)]
enum Auth {
    Nobody,
    Alice,
    Bob,
    Expired,
    Garbage,
}

/// One bad request and what it must get.
struct Row {
    method: &'static str,
    path: String,
    auth: Auth,
    body: Option<String>,
    status: u16,
    code: &'static str,
    fragment: &'static str,
}

fn row(
    method: &'static str,
    path: impl Into<String>,
    auth: Auth,
    body: Option<String>,
    (status, code, fragment): (u16, &'static str, &'static str),
) -> Row {
    Row {
        method,
        path: path.into(),
        auth,
        body,
        status,
        code,
        fragment,
    }
}

/// A valid limit buy with `extra` fields put over it.
fn order(extra: Value) -> Option<String> {
    let mut body =
        json!({ "market": BTC, "side": "buy", "type": "limit", "price": "50", "quantity": "0.01" });
    for (key, value) in extra.as_object().expect("an object") {
        body[key] = value.clone();
    }
    Some(body.to_string())
}

fn text(value: Value) -> Option<String> {
    Some(value.to_string())
}

const BAD_PARAM: u16 = 400;

fn auth_rows() -> Vec<Row> {
    use Auth::*;
    let unauthorized = |fragment| (401, "UNAUTHORIZED", fragment);
    vec![
        row(
            "POST",
            "/order",
            Nobody,
            order(json!({})),
            unauthorized("sign in"),
        ),
        row(
            "POST",
            "/order",
            Expired,
            order(json!({})),
            unauthorized("expired"),
        ),
        row(
            "POST",
            "/order",
            Garbage,
            order(json!({})),
            unauthorized("not valid"),
        ),
        row("GET", "/balances", Nobody, None, unauthorized("Bearer")),
        row("GET", "/order/open", Garbage, None, unauthorized("token")),
        row("DELETE", "/orders", Nobody, None, unauthorized("sign in")),
        row(
            "POST",
            "/withdraw",
            Expired,
            text(json!({"asset": "USD", "amount": "1"})),
            unauthorized("expired"),
        ),
        row("GET", "/fills", Nobody, None, unauthorized("sign in")),
        row(
            "POST",
            "/order/quote",
            Garbage,
            text(json!({"market": BTC, "side": "buy", "quantity": "1"})),
            unauthorized("not valid"),
        ),
        row(
            "POST",
            "/signin",
            Nobody,
            text(json!({"username": "alice", "password": "wrong password!"})),
            unauthorized("wrong username or password"),
        ),
        row(
            "POST",
            "/signin",
            Nobody,
            text(json!({"username": "nobody", "password": "correct horse battery"})),
            unauthorized("wrong username or password"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"userId": 2})),
            (403, "FORBIDDEN", "userId"),
        ),
    ]
}

fn body_rows() -> Vec<Row> {
    use Auth::*;
    let invalid_json = (BAD_PARAM, "INVALID_JSON", "not a JSON object");
    let big_body = format!("{{\"market\":\"{}\"}}", "x".repeat(20 * 1024));
    vec![
        row(
            "POST",
            "/order",
            Alice,
            Some("{\"market\": \"BTC-USD\",".into()),
            invalid_json,
        ),
        row(
            "POST",
            "/order",
            Alice,
            Some("[1,2,3]".into()),
            invalid_json,
        ),
        row(
            "POST",
            "/order",
            Alice,
            Some("\"order\"".into()),
            invalid_json,
        ),
        row(
            "POST",
            "/order",
            Alice,
            Some("nonsense".into()),
            invalid_json,
        ),
        row(
            "POST",
            "/order",
            Alice,
            Some("{\"a\":}".into()),
            invalid_json,
        ),
        row("POST", "/on-ramp", Alice, Some("{".into()), invalid_json),
        row("POST", "/signup", Nobody, Some("null".into()), invalid_json),
        row(
            "POST",
            "/order",
            Alice,
            Some(big_body),
            (413, "PAYLOAD_TOO_LARGE", "larger than"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            Some(String::new()),
            (BAD_PARAM, "MISSING_PARAMETER", "market is required"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            Some("{}".into()),
            (BAD_PARAM, "MISSING_PARAMETER", "market is required"),
        ),
    ]
}

fn order_field_rows() -> Vec<Row> {
    use Auth::*;
    let invalid = |fragment| (BAD_PARAM, "INVALID_PARAMETER", fragment);
    let missing = |fragment| (BAD_PARAM, "MISSING_PARAMETER", fragment);
    vec![
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"stp": 3})),
            invalid("stp: expected a string"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"timeInForce": true})),
            invalid("timeInForce: expected a string"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"side": 1})),
            invalid("side: expected a string"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"side": "up"})),
            invalid("side: \"up\" is not one of"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"side": null})),
            missing("side is required"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"type": "stop"})),
            invalid("type: \"stop\" is not one of"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"type": ["limit"]})),
            invalid("type: expected a string"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"timeInForce": "GTD"})),
            invalid("timeInForce"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"stp": "never"})),
            invalid("stp"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"postOnly": "yes"})),
            invalid("postOnly: expected true or false"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"postOnly": 1})),
            invalid("postOnly"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"market": "DOGE-USD"})),
            (BAD_PARAM, "UNKNOWN_MARKET", "no market \"DOGE-USD\""),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"market": "btc-usd"})),
            (BAD_PARAM, "UNKNOWN_MARKET", "market"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"market": 7})),
            invalid("market: expected a string"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"market": null})),
            missing("market is required"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"clientOrderId": "x".repeat(40)})),
            invalid("at most 32 characters"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"clientOrderId": "has space"})),
            invalid("printable ASCII"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"clientOrderId": ""})),
            invalid("clientOrderId"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"clientOrderId": 5})),
            invalid("clientOrderId: expected a string"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"type": "market", "postOnly": true, "price": null})),
            invalid("market orders cannot be post-only"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"type": "market"})),
            invalid("market orders take no price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"type": "market", "price": null, "quantity": null})),
            missing("quantity is required"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"type": "market", "price": null, "quoteQuantity": "1"})),
            invalid("not both"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(
                json!({"type": "market", "side": "sell", "price": null, "quantity": null, "quoteQuantity": "1"}),
            ),
            invalid("only buy orders may be sized by quote"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quoteQuantity": "1"})),
            invalid("only market orders take quoteQuantity"),
        ),
    ]
}

fn order_number_rows() -> Vec<Row> {
    use Auth::*;
    let price = |fragment| (BAD_PARAM, "INVALID_PRICE", fragment);
    let quantity = |fragment| (BAD_PARAM, "INVALID_QUANTITY", fragment);
    let huge = "9".repeat(40);
    vec![
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": 0})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": "-5"})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": "50.001"})),
            price("tick size"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": huge})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": "fifty"})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": "1e400"})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": ""})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": true})),
            price("price"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"price": null})),
            (BAD_PARAM, "MISSING_PARAMETER", "price is required"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": "0"})),
            quantity("quantity"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": -1})),
            quantity("quantity"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": "0.000001"})),
            quantity("quantity"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": "1e-9"})),
            quantity("quantity"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": "0.5.1"})),
            quantity("quantity"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": {"v": 1}})),
            quantity("quantity"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": null})),
            (BAD_PARAM, "MISSING_PARAMETER", "quantity is required"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": "0.00001"})),
            (422, "BELOW_MINIMUM", "below the market's minimum"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"quantity": "1000"})),
            (422, "INSUFFICIENT_BALANCE", "not enough available balance"),
        ),
        row(
            "POST",
            "/order",
            Bob,
            order(json!({"side": "sell"})),
            (422, "INSUFFICIENT_BALANCE", "not enough available balance"),
        ),
        row(
            "POST",
            "/order",
            Bob,
            order(json!({"price": "100", "postOnly": true})),
            (422, "POST_ONLY_WOULD_CROSS", "post-only"),
        ),
        row(
            "POST",
            "/order",
            Bob,
            order(json!({"price": "90", "timeInForce": "FOK"})),
            (422, "FOK_NOT_FILLABLE", "fill-or-kill"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"side": "sell", "price": "100", "clientOrderId": "rest-1"})),
            (409, "DUPLICATE_CLIENT_ORDER_ID", "already used"),
        ),
        row(
            "POST",
            "/order",
            Bob,
            order(
                json!({"type": "market", "price": null, "quantity": null, "quoteQuantity": "100000"}),
            ),
            (422, "INSUFFICIENT_BALANCE", "not enough"),
        ),
        row(
            "POST",
            "/order",
            Alice,
            order(json!({"market": "ETH-USD", "type": "market", "price": null})),
            (422, "NO_LIQUIDITY", "no liquidity"),
        ),
    ]
}

fn order_id_rows(resting: u64) -> Vec<Row> {
    use Auth::*;
    let unknown = (404, "UNKNOWN_ORDER", "no such open order");
    let invalid = |fragment| (BAD_PARAM, "INVALID_PARAMETER", fragment);
    vec![
        row("GET", format!("/order/{resting}"), Bob, None, unknown),
        row("DELETE", format!("/order/{resting}"), Bob, None, unknown),
        row(
            "PATCH",
            format!("/order/{resting}"),
            Bob,
            text(json!({"price": "99"})),
            unknown,
        ),
        row("DELETE", "/order/999999", Alice, None, unknown),
        row("GET", "/order/999999", Alice, None, unknown),
        row(
            "DELETE",
            "/order/abc",
            Alice,
            None,
            invalid("orderId: \"abc\" is not a positive integer id"),
        ),
        row("DELETE", "/order/0", Alice, None, invalid("orderId")),
        row("GET", "/order/-3", Alice, None, invalid("orderId")),
        row(
            "GET",
            "/order/18446744073709551616",
            Alice,
            None,
            invalid("orderId"),
        ),
        row(
            "PATCH",
            format!("/order/{resting}"),
            Alice,
            text(json!({"quantity": "5"})),
            (
                422,
                "INVALID_AMEND",
                "amend must change price or lower quantity",
            ),
        ),
        row(
            "PATCH",
            format!("/order/{resting}"),
            Alice,
            text(json!({"price": "0.001"})),
            (BAD_PARAM, "INVALID_PRICE", "tick size"),
        ),
        row(
            "PATCH",
            format!("/order/{resting}"),
            Alice,
            text(json!({"quantity": "-1"})),
            (BAD_PARAM, "INVALID_QUANTITY", "quantity"),
        ),
        row(
            "PATCH",
            format!("/order/{resting}"),
            Alice,
            Some("[]".into()),
            (BAD_PARAM, "INVALID_JSON", "JSON object"),
        ),
        row(
            "PATCH",
            format!("/order/{resting}"),
            Alice,
            text(json!({"market": "NOPE", "price": "99"})),
            (BAD_PARAM, "UNKNOWN_MARKET", "NOPE"),
        ),
        row(
            "GET",
            "/order/open?market=NOPE",
            Alice,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "NOPE"),
        ),
        row(
            "DELETE",
            "/orders?market=NOPE",
            Alice,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "NOPE"),
        ),
        row(
            "GET",
            "/fills?limit=0",
            Alice,
            None,
            invalid("limit: must be a whole number from 1 to"),
        ),
        row("GET", "/fills?limit=lots", Alice, None, invalid("limit")),
        row(
            "GET",
            "/fills?market=NOPE",
            Alice,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "NOPE"),
        ),
    ]
}

fn wallet_and_account_rows() -> Vec<Row> {
    use Auth::*;
    let transfer = |asset: Value, amount: Value| text(json!({"asset": asset, "amount": amount}));
    let amount = |fragment| (BAD_PARAM, "INVALID_AMOUNT", fragment);
    let invalid = |fragment| (BAD_PARAM, "INVALID_PARAMETER", fragment);
    vec![
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!("XRP"), json!("1")),
            (BAD_PARAM, "UNKNOWN_ASSET", "no asset \"XRP\""),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!("USD"), json!("-1")),
            amount("amount"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!("USD"), json!("0")),
            amount("amount"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!("USD"), json!("0.000000001")),
            amount("decimals"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!("USD"), json!("1e30")),
            amount("amount"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!("USD"), json!("ten")),
            amount("amount"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            transfer(json!(1), json!("1")),
            invalid("asset: expected a string"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            text(json!({"asset": "USD"})),
            (BAD_PARAM, "MISSING_PARAMETER", "amount is required"),
        ),
        row(
            "POST",
            "/on-ramp",
            Alice,
            text(json!({"amount": "1"})),
            (BAD_PARAM, "MISSING_PARAMETER", "asset is required"),
        ),
        row(
            "POST",
            "/withdraw",
            Alice,
            transfer(json!("USD"), json!("5000")),
            (422, "INSUFFICIENT_BALANCE", "not enough available balance"),
        ),
        row(
            "POST",
            "/withdraw",
            Bob,
            transfer(json!("BTC"), json!("0.1")),
            (422, "INSUFFICIENT_BALANCE", "not enough"),
        ),
        row(
            "POST",
            "/withdraw",
            Alice,
            transfer(json!("USD"), json!(-3)),
            amount("amount"),
        ),
        row(
            "POST",
            "/order/quote",
            Alice,
            text(json!({"market": BTC, "side": "sell"})),
            (BAD_PARAM, "MISSING_PARAMETER", "quantity is required"),
        ),
        row(
            "POST",
            "/order/quote",
            Alice,
            text(json!({"market": BTC, "side": "sell", "quoteQuantity": "5"})),
            invalid("only buy quotes"),
        ),
        row(
            "POST",
            "/order/quote",
            Alice,
            text(json!({"market": BTC, "side": "buy", "quantity": "1", "quoteQuantity": "5"})),
            invalid("not both"),
        ),
        row(
            "POST",
            "/order/quote",
            Alice,
            text(json!({"market": "NOPE", "side": "buy", "quantity": "1"})),
            (BAD_PARAM, "UNKNOWN_MARKET", "NOPE"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": "alice", "password": "another password"})),
            (409, "USER_EXISTS", "user name is taken"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": "eve", "password": "short"})),
            invalid("password: must be 8 to 128 characters"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": "eve", "password": "x".repeat(129)})),
            invalid("password"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": "bad name!", "password": "long enough"})),
            invalid("username: use letters"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": "", "password": "long enough"})),
            invalid("username"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": "e".repeat(33), "password": "long enough"})),
            invalid("at most 32 characters"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"password": "long enough"})),
            (BAD_PARAM, "MISSING_PARAMETER", "username is required"),
        ),
        row(
            "POST",
            "/signup",
            Nobody,
            text(json!({"username": 12, "password": "long enough"})),
            invalid("username: expected a string"),
        ),
    ]
}

fn public_rows() -> Vec<Row> {
    use Auth::*;
    let invalid = |fragment| (BAD_PARAM, "INVALID_PARAMETER", fragment);
    vec![
        row(
            "GET",
            "/depth",
            Nobody,
            None,
            (BAD_PARAM, "MISSING_PARAMETER", "symbol is required"),
        ),
        row(
            "GET",
            "/depth?symbol=NOPE",
            Nobody,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "no market \"NOPE\""),
        ),
        row(
            "GET",
            "/depth?symbol=BTC-USD&limit=0",
            Nobody,
            None,
            invalid("limit"),
        ),
        row(
            "GET",
            "/depth?symbol=BTC-USD&limit=100000",
            Nobody,
            None,
            invalid("limit: must be a whole number"),
        ),
        row(
            "GET",
            "/depth?symbol=BTC-USD&limit=-1",
            Nobody,
            None,
            invalid("limit"),
        ),
        row(
            "GET",
            "/trades?symbol=",
            Nobody,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "symbol"),
        ),
        row(
            "GET",
            "/trades?symbol=BTC-USD&limit=1.5",
            Nobody,
            None,
            invalid("limit"),
        ),
        row(
            "GET",
            "/klines?symbol=BTC-USD&interval=2m",
            Nobody,
            None,
            invalid("interval"),
        ),
        row(
            "GET",
            "/klines?symbol=NOPE&interval=1m",
            Nobody,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "no market \"NOPE\""),
        ),
        row(
            "GET",
            "/klines?symbol=BTC-USD&interval=1m&startTime=soon",
            Nobody,
            None,
            invalid("startTime: \"soon\" is not a time"),
        ),
        row(
            "GET",
            "/klines?symbol=BTC-USD&interval=1m&startTime=10&endTime=5",
            Nobody,
            None,
            invalid("must not be after endTime"),
        ),
        row(
            "GET",
            "/tickers?symbol=NOPE",
            Nobody,
            None,
            (BAD_PARAM, "UNKNOWN_MARKET", "NOPE"),
        ),
        row(
            "GET",
            "/nothing-here",
            Nobody,
            None,
            (404, "NOT_FOUND", "no route /api/v1/nothing-here"),
        ),
    ]
}

/// Every row answered as it says, and the observed state unchanged after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_bad_input_catalogue() {
    let exchange = Exchange::start("catalogue-rest", 1, &[]).await;
    let base = exchange.url(0);
    let alice = Trader::signup(&base, "alice").await;
    let bob = Trader::signup(&base, "bob").await;
    alice.deposit("BTC", "1").await;
    alice.deposit("USD", "1000").await;
    bob.deposit("USD", "1000").await;
    let resting = json!({ "market": BTC, "side": "sell", "price": "100", "quantity": "0.1", "clientOrderId": "rest-1" });
    let resting = alice.ok("POST", "/order", Some(resting)).await["orderId"]
        .as_u64()
        .unwrap();
    let before = observe(&[&alice, &bob]).await;
    let expired = expired_token(&exchange.jwt_secret(), alice.user_id);
    let rows: Vec<Row> = [
        auth_rows(),
        body_rows(),
        order_field_rows(),
        order_number_rows(),
        order_id_rows(resting),
        wallet_and_account_rows(),
        public_rows(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(rows.len() >= 100, "{} REST rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let token = match row.auth {
            Auth::Nobody => None,
            Auth::Alice => Some(alice.token.as_str()),
            Auth::Bob => Some(bob.token.as_str()),
            Auth::Expired => Some(expired.as_str()),
            Auth::Garbage => Some("not-a-jwt"),
        };
        let url = format!("{base}/api/v1{}", row.path);
        let answer = send(&alice.client, row.method, &url, token, row.body.clone()).await;
        let message = answer.body["message"].as_str().unwrap_or("");
        let got = (
            answer.status,
            answer.code(),
            message.contains(row.fragment) && !message.is_empty(),
        );
        if got != (row.status, row.code, true) {
            failures.push(format!(
                "{} {} {:?} as {:?}: want {} {} ~{:?}, got {} {}",
                row.method,
                row.path,
                row.body.as_deref().map(|b| &b[..b.len().min(120)]),
                row.auth,
                row.status,
                row.code,
                row.fragment,
                answer.status,
                answer.body
            ));
        }
        let after = observe(&[&alice, &bob]).await;
        if after != before {
            failures.push(format!(
                "{} {} {:?} changed the state: {after}",
                row.method, row.path, row.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// One bad WebSocket message and the error its reply must carry.
fn ws_rows(expired: &str) -> Vec<(String, &'static str, &'static str)> {
    let call = |method: &str, params: Value| {
        json!({"method": method, "params": params, "id": 7}).to_string()
    };
    let subscribe = |params: Value| call("SUBSCRIBE", params);
    let not_a_stream = ("INVALID_PARAMETER", "is not a stream name");
    let unknown_market = ("UNKNOWN_MARKET", "no market");
    let unknown_key = format!("{}.{}", "0f".repeat(16), "a5".repeat(32));
    let rows = vec![
        (
            "not json".to_string(),
            ("INVALID_JSON", "message is not JSON"),
        ),
        ("{".into(), ("INVALID_JSON", "not JSON")),
        ("".into(), ("INVALID_JSON", "not JSON")),
        (
            "[]".into(),
            ("INVALID_PARAMETER", "method: expected SUBSCRIBE"),
        ),
        ("42".into(), ("INVALID_PARAMETER", "method")),
        (
            call("PUBLISH", json!([])),
            (
                "INVALID_PARAMETER",
                "method: expected SUBSCRIBE, UNSUBSCRIBE, AUTH or LIST_SUBSCRIPTIONS",
            ),
        ),
        (
            call("subscribe", json!(["depth@BTC-USD"])),
            ("INVALID_PARAMETER", "method"),
        ),
        (
            json!({"method": 7, "id": 1}).to_string(),
            ("INVALID_PARAMETER", "method"),
        ),
        (
            json!({"params": ["depth@BTC-USD"], "id": 1}).to_string(),
            ("INVALID_PARAMETER", "method"),
        ),
        (
            subscribe(json!([])),
            ("MISSING_PARAMETER", "params is required"),
        ),
        (
            json!({"method": "SUBSCRIBE", "id": 1}).to_string(),
            ("MISSING_PARAMETER", "params"),
        ),
        (subscribe(json!([1, 2])), ("MISSING_PARAMETER", "params")),
        (
            subscribe(json!("depth@BTC-USD")),
            ("MISSING_PARAMETER", "params"),
        ),
        (subscribe(json!(["depth"])), not_a_stream),
        (subscribe(json!(["DEPTH@BTC-USD"])), not_a_stream),
        (subscribe(json!(["candles@BTC-USD"])), not_a_stream),
        (subscribe(json!(["depth@BTC-USD:1m"])), not_a_stream),
        (subscribe(json!(["depth@NOPE"])), unknown_market),
        (subscribe(json!(["depth@btc-usd"])), unknown_market),
        (
            subscribe(json!(["trade@ETH-USD", "depth@NOPE"])),
            unknown_market,
        ),
        (
            subscribe(json!(["kline@BTC-USD"])),
            (
                "INVALID_PARAMETER",
                "kline streams are kline@SYMBOL:INTERVAL",
            ),
        ),
        (
            subscribe(json!(["kline@BTC-USD:2m"])),
            ("INVALID_PARAMETER", "params"),
        ),
        (
            subscribe(json!(["orders"])),
            ("UNAUTHORIZED", "send AUTH with a token first"),
        ),
        (
            subscribe(json!(["fills@BTC-USD"])),
            ("UNAUTHORIZED", "send AUTH"),
        ),
        (call("UNSUBSCRIBE", json!(["depth@NOPE"])), unknown_market),
        (call("UNSUBSCRIBE", json!(["nonsense"])), not_a_stream),
        (
            call("AUTH", json!([])),
            ("MISSING_PARAMETER", "params is required"),
        ),
        (call("AUTH", json!([123])), ("MISSING_PARAMETER", "params")),
        (
            call("AUTH", json!(["not-a-jwt"])),
            ("UNAUTHORIZED", "token is not valid"),
        ),
        (call("AUTH", json!([expired])), ("UNAUTHORIZED", "expired")),
        (
            call("AUTH", json!([unknown_key])),
            ("UNAUTHORIZED", "API key is not valid"),
        ),
        (subscribe(json!(["orders"])), ("UNAUTHORIZED", "send AUTH")),
    ];
    rows.into_iter()
        .map(|(text, (code, fragment))| (text, code, fragment))
        .collect()
}

/// Every bad message gets an error reply with its code and fragment; the connection's
/// subscriptions and the exchange's state stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_bad_input_catalogue() {
    let exchange = Exchange::start("catalogue-ws", 1, &[]).await;
    let base = exchange.url(0);
    let alice = Trader::signup(&base, "alice").await;
    alice.deposit("USD", "1000").await;
    alice.limit(BTC, "buy", "100", "0.1").await;
    let before = observe(&[&alice]).await;
    let mut socket = Socket::connect(&exchange.ws_url(0)).await;
    let (reply, _) = socket.call("SUBSCRIBE", &["trade@BTC-USD"]).await;
    assert_eq!(reply["result"], Value::Null, "{reply}");
    let subscriptions = json!(["trade@BTC-USD"]);
    let expired = expired_token(&exchange.jwt_secret(), alice.user_id);
    let rows = ws_rows(&expired);
    assert!(rows.len() >= 30, "{} WebSocket rows", rows.len());
    let mut failures = Vec::new();
    for (text, code, fragment) in &rows {
        let reply = socket.send_raw(text).await;
        let message = reply["error"]["message"].as_str().unwrap_or("");
        let got = (
            reply["error"]["code"].as_str().unwrap_or(""),
            message.contains(fragment),
        );
        if got != (*code, true) || reply.get("result").is_some() {
            failures.push(format!("{text:?}: want {code} ~{fragment:?}, got {reply}"));
        }
        let (listed, _) = socket.call("LIST_SUBSCRIPTIONS", &[]).await;
        if listed["result"] != subscriptions {
            failures.push(format!("{text:?} changed the subscriptions: {listed}"));
        }
        let after = observe(&[&alice]).await;
        if after != before {
            failures.push(format!("{text:?} changed the state: {after}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

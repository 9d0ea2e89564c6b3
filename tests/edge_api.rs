//! End-to-end tests of the edge against the real binary: `pinwheel engine` plus one or two
//! `pinwheel edge` processes, real HTTP (reqwest) and WebSocket (tokio-tungstenite) clients.
#![allow(clippy::too_many_lines)] // Tests opt out: each end-to-end scenario reads as one story against the real processes.

mod common;
mod edge_support;

use std::collections::BTreeMap;
use std::time::Duration;

use edge_support::{send, Exchange, Socket, Trader};
use serde_json::{json, Value};

const BTC: &str = "BTC-USD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_between_two_users_over_rest() {
    let exchange = Exchange::start("rest", 1, &[]).await;
    let base = exchange.url(0);
    let alice = Trader::signup(&base, "alice").await;
    let bob = Trader::signup(&base, "bob").await;
    assert_ne!(alice.user_id, bob.user_id);

    // Sign-in gives a working token; a wrong password does not.
    let client = reqwest::Client::new();
    let signin = |password: &str| json!({ "username": "alice", "password": password }).to_string();
    let answer = send(
        &client,
        "POST",
        &format!("{base}/api/v1/signin"),
        None,
        Some(signin("correct horse battery")),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body["userId"].as_u64()),
        (200, Some(alice.user_id))
    );
    let answer = send(
        &client,
        "POST",
        &format!("{base}/api/v1/signin"),
        None,
        Some(signin("wrong password!")),
    )
    .await;
    assert_eq!((answer.status, answer.code()), (401, "UNAUTHORIZED"));

    let markets = alice.ok("GET", "/markets", None).await;
    assert_eq!(markets[0]["symbol"], BTC);
    assert_eq!(markets[0]["tickSize"], "0.01");
    assert_eq!(markets[0]["makerFeeBps"], 10);

    alice.deposit("BTC", "1").await;
    bob.deposit("USD", "100000").await;
    assert_eq!(alice.balance("BTC").await, ("1".into(), "0".into()));

    let ask = alice.limit(BTC, "sell", "30000", "0.5").await;
    assert_eq!(ask["status"], "NEW");
    assert_eq!(ask["remainingQty"], "0.5");
    let ask_id = ask["orderId"].as_u64().unwrap();
    assert_eq!(alice.balance("BTC").await, ("0.5".into(), "0.5".into()));

    // Bob takes 0.2: his answer carries the fill against Alice's order.
    let buy = bob.limit(BTC, "buy", "30000.00", "0.2").await;
    assert_eq!(buy["status"], "FILLED");
    assert_eq!(buy["executedQty"], "0.2");
    let fills = buy["fills"].as_array().unwrap();
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0]["price"], "30000");
    assert_eq!(fills[0]["quantity"], "0.2");
    assert_eq!(fills[0]["makerOrderId"].as_u64(), Some(ask_id));
    assert_eq!(
        fills[0]["fee"], "0.0004",
        "taker fee: 20 bps of the 0.2 BTC received"
    );

    assert_eq!(bob.balance("BTC").await, ("0.1996".into(), "0".into()));
    assert_eq!(bob.balance("USD").await, ("94000".into(), "0".into()));
    assert_eq!(
        alice.balance("USD").await,
        ("5994".into(), "0".into()),
        "maker fee: 10 bps of 6000"
    );
    assert_eq!(alice.balance("BTC").await, ("0.5".into(), "0.3".into()));

    // Alice's order: query, list, amend (lower quantity), fills, cancel.
    let order = alice.ok("GET", &format!("/order/{ask_id}"), None).await;
    assert_eq!(
        (order["status"].as_str(), order["executedQty"].as_str()),
        (Some("PARTIALLY_FILLED"), Some("0.2"))
    );
    let open = alice
        .ok("GET", &format!("/order/open?market={BTC}"), None)
        .await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let amended = alice
        .ok(
            "PATCH",
            &format!("/order/{ask_id}"),
            Some(json!({ "quantity": "0.4" })),
        )
        .await;
    assert_eq!(amended["quantity"], "0.4");
    assert_eq!(amended["remainingQty"], "0.2");
    let alice_fills = alice
        .ok("GET", &format!("/fills?market={BTC}&limit=10"), None)
        .await;
    assert_eq!(alice_fills[0]["isMaker"], true);
    assert_eq!(alice_fills[0]["quantity"], "0.2");

    // Isolation: Bob cannot see, amend or cancel Alice's order; it looks like it does not exist.
    for (method, body) in [
        ("GET", None),
        ("DELETE", None),
        ("PATCH", Some(json!({ "price": "31000", "market": BTC }))),
    ] {
        let answer = bob.call(method, &format!("/order/{ask_id}"), body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "UNKNOWN_ORDER"),
            "{method}"
        );
    }
    assert!(bob
        .ok("GET", "/order/open", None)
        .await
        .as_array()
        .unwrap()
        .is_empty());

    // Public data after the trade.
    let depth = bob
        .ok("GET", &format!("/depth?symbol={BTC}&limit=5"), None)
        .await;
    assert_eq!(depth["asks"], json!([["30000", "0.2"]]));
    assert!(depth["sequence"].as_u64().is_some());
    let trades = bob.ok("GET", &format!("/trades?symbol={BTC}"), None).await;
    assert_eq!(
        (trades[0]["price"].as_str(), trades[0]["side"].as_str()),
        (Some("30000"), Some("buy"))
    );
    let ticker = bob.ok("GET", &format!("/tickers?symbol={BTC}"), None).await;
    assert_eq!(
        (ticker["lastPrice"].as_str(), ticker["volume"].as_str()),
        (Some("30000"), Some("0.2"))
    );
    assert_eq!(
        bob.ok("GET", "/tickers", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let klines = bob
        .ok("GET", &format!("/klines?symbol={BTC}&interval=1m"), None)
        .await;
    assert_eq!(
        (klines[0]["open"].as_str(), klines[0]["volume"].as_str()),
        (Some("30000"), Some("0.2"))
    );
    let quote = bob
        .ok(
            "POST",
            "/order/quote",
            Some(json!({ "market": BTC, "side": "buy", "quantity": "0.1" })),
        )
        .await;
    assert_eq!(
        (quote["fillableQuantity"].as_str(), quote["cost"].as_str()),
        (Some("0.1"), Some("3000"))
    );

    // A market buy by quote amount, then cancel by body, cancel-all, withdraw.
    let market_buy =
        json!({ "market": BTC, "side": "buy", "type": "market", "quoteQuantity": "1500" });
    let taken = bob.ok("POST", "/order", Some(market_buy)).await;
    assert_eq!(taken["executedQty"], "0.05");
    let second = alice.limit(BTC, "sell", "40000", "0.1").await;
    let canceled = alice
        .ok(
            "DELETE",
            "/order",
            Some(json!({ "orderId": second["orderId"], "market": BTC })),
        )
        .await;
    assert_eq!(canceled["status"], "CANCELED");
    let all = alice
        .ok("DELETE", &format!("/orders?market={BTC}"), None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["orderId"].as_u64(), Some(ask_id));
    assert_eq!(
        alice.balance("BTC").await.1,
        "0",
        "nothing locked after cancel-all"
    );
    let after = bob
        .ok(
            "POST",
            "/withdraw",
            Some(json!({ "asset": "USD", "amount": "1000" })),
        )
        .await;
    assert_eq!(after["available"], "91500");

    // API keys authenticate bots as their owner.
    let key = alice.ok("POST", "/api-keys", None).await;
    let key = key["apiKey"].as_str().unwrap().to_string();
    let with_key = client
        .get(format!("{base}/api/v1/balances"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 200);
    let mut forged = key.clone();
    forged.pop();
    forged.push(if key.ends_with('0') { '1' } else { '0' });
    let with_forged = client
        .get(format!("{base}/api/v1/balances"))
        .header("X-API-Key", &forged)
        .send()
        .await
        .unwrap();
    assert_eq!(with_forged.status(), 401);

    // Operations endpoints.
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "pinwheel_edge_requests_total{method=\"POST\",route=\"/api/v1/order\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("pinwheel_engine_commands_total{kind=\"PlaceOrder\"}"),
        "engine counters exported"
    );
    let openapi = alice.ok("GET", "/openapi.json", None).await;
    assert!(openapi["paths"]["/api/v1/order/{id}"]["patch"].is_object());
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_streams_public_and_private() {
    let exchange = Exchange::start("ws", 1, &[]).await;
    let base = exchange.url(0);
    let alice = Trader::signup(&base, "alice").await;
    let bob = Trader::signup(&base, "bob").await;
    alice.deposit("BTC", "1").await;
    bob.deposit("USD", "100000").await;

    let mut public = Socket::connect(&exchange.ws_url(0)).await;
    let streams = ["trade@BTC-USD", "ticker@BTC-USD", "kline@BTC-USD:1m"];
    let (reply, _) = public.call("SUBSCRIBE", &streams).await;
    assert!(reply.get("error").is_none(), "{reply}");
    let (reply, _) = public.call("SUBSCRIBE", &["orders"]).await;
    assert_eq!(
        reply["error"]["code"], "UNAUTHORIZED",
        "private streams need AUTH"
    );
    let (reply, _) = public.call("SUBSCRIBE", &["trade@NOPE"]).await;
    assert_eq!(reply["error"]["code"], "UNKNOWN_MARKET");

    let mut private = Socket::connect(&exchange.ws_url(0)).await;
    let (reply, _) = private.call("AUTH", &["forged.token.value"]).await;
    assert_eq!(reply["error"]["code"], "UNAUTHORIZED");
    let (reply, _) = private.call("AUTH", &[alice.token.as_str()]).await;
    assert_eq!(reply["result"]["userId"].as_u64(), Some(alice.user_id));
    let (reply, _) = private
        .call("SUBSCRIBE", &["orders", "fills@BTC-USD"])
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let mut snoop = Socket::connect(&exchange.ws_url(0)).await;
    snoop.call("AUTH", &[bob.token.as_str()]).await;
    snoop.call("SUBSCRIBE", &["orders", "fills@BTC-USD"]).await;

    let ask = alice.limit(BTC, "sell", "30000", "0.5").await;
    let placed = private.next_of("orders").await;
    assert_eq!(
        (placed["orderId"].as_u64(), placed["status"].as_str()),
        (ask["orderId"].as_u64(), Some("NEW"))
    );
    bob.limit(BTC, "buy", "30000", "0.1").await;

    let trade = public.next_of("trade@BTC-USD").await;
    assert_eq!(
        (trade["price"].as_str(), trade["quantity"].as_str()),
        (Some("30000"), Some("0.1"))
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let time = trade["time"].as_u64().unwrap();
    assert!(
        time <= now_ms && now_ms - time < 60_000,
        "trade time {time} is the engine ms timestamp"
    );
    assert_eq!(trade["timeNs"].as_u64().unwrap() / 1_000_000, time);
    let ticker = public.next_of("ticker@BTC-USD").await;
    assert_eq!(ticker["lastPrice"], "30000");
    let kline = public.next_of("kline@BTC-USD:1m").await;
    assert_eq!(kline["close"], "30000");

    let (mut maker_update, mut maker_fill) = (Value::Null, Value::Null);
    while maker_update.is_null() || maker_fill.is_null() {
        let message = private
            .next()
            .await
            .expect("the maker's order update and fill");
        match message["stream"].as_str() {
            Some("orders") => maker_update = message["data"].clone(),
            Some("fills@BTC-USD") => maker_fill = message["data"].clone(),
            _ => {}
        }
    }
    assert_eq!(
        (
            maker_update["status"].as_str(),
            maker_update["executedQty"].as_str()
        ),
        (Some("PARTIALLY_FILLED"), Some("0.1"))
    );
    assert_eq!(
        (maker_fill["isMaker"].as_bool(), maker_fill["fee"].as_str()),
        (Some(true), Some("3"))
    );

    // Bob sees his own fill and order, never Alice's.
    let mut seen = Vec::new();
    while let Some(message) = snoop.next_within(Duration::from_millis(800)).await {
        seen.push(message);
    }
    assert!(!seen.is_empty());
    for message in &seen {
        if message["stream"] == "orders" || message["stream"] == "fills@BTC-USD" {
            assert_ne!(
                message["data"]["orderId"].as_u64(),
                ask["orderId"].as_u64(),
                "Bob saw Alice's order: {message}"
            );
        }
    }
}

/// Applies depth@ messages to a local book; returns false on a gap.
fn apply_depth(
    book: &mut (
        BTreeMap<String, String>,
        BTreeMap<String, String>,
        Option<u64>,
    ),
    data: &Value,
) -> bool {
    let levels = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l[0].as_str().unwrap().to_string(),
                    l[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    if data["type"] == "snapshot" {
        book.0 = levels(&data["bids"]).into_iter().collect();
        book.1 = levels(&data["asks"]).into_iter().collect();
        book.2 = data["sequence"].as_u64();
        return true;
    }
    let sequence = data["sequence"].as_u64().unwrap();
    match book.2 {
        Some(last) if sequence <= last => return true,
        Some(last) if sequence != last + 1 => return false,
        _ => {}
    }
    for (side, levels_of) in [(&mut book.0, &data["bids"]), (&mut book.1, &data["asks"])] {
        for (price, quantity) in levels(levels_of) {
            if quantity == "0" {
                side.remove(&price);
            } else {
                side.insert(price, quantity);
            }
        }
    }
    book.2 = Some(sequence);
    true
}

fn as_levels(side: &BTreeMap<String, String>, descending: bool) -> Vec<Value> {
    let mut levels: Vec<(f64, Value)> = side
        .iter()
        .map(|(p, q)| (p.parse::<f64>().unwrap(), json!([p, q])))
        .collect();
    levels.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    if descending {
        levels.reverse();
    }
    levels.into_iter().map(|(_, v)| v).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_stream_deltas_rebuild_the_rest_depth() {
    let exchange = Exchange::start("depth", 1, &[]).await;
    let base = exchange.url(0);
    let maker = Trader::signup(&base, "maker").await;
    let taker = Trader::signup(&base, "taker").await;
    maker.deposit("BTC", "10").await;
    maker.deposit("USD", "1000000").await;
    taker.deposit("BTC", "10").await;
    taker.deposit("USD", "1000000").await;
    maker.limit(BTC, "buy", "99", "0.5").await;

    let mut socket = Socket::connect(&exchange.ws_url(0)).await;
    let (_, _) = socket.call("SUBSCRIBE", &["depth@BTC-USD"]).await;
    let mut book = (BTreeMap::new(), BTreeMap::new(), None);
    let mut ids = Vec::new();
    // A deterministic mix: rests on both sides, crosses, cancels, amends.
    for i in 0..40u64 {
        let (trader, side) = if i % 3 == 0 {
            (&taker, if i % 2 == 0 { "buy" } else { "sell" })
        } else {
            (&maker, if i % 2 == 0 { "buy" } else { "sell" })
        };
        let offset = (i * 7 % 11) as i64 - 5;
        let price = if side == "buy" {
            100 + offset
        } else {
            101 + offset
        };
        let order = trader
            .limit(BTC, side, &price.to_string(), &format!("0.0{}", 1 + i % 9))
            .await;
        if order["status"] == "NEW" {
            ids.push((trader.clone(), order["orderId"].as_u64().unwrap()));
        }
        if i % 5 == 4 {
            if let Some((owner, id)) = ids.pop() {
                let _ = owner.call("DELETE", &format!("/order/{id}"), None).await;
            }
        }
    }
    let rest = taker
        .ok("GET", &format!("/depth?symbol={BTC}&limit=500"), None)
        .await;
    let target = rest["sequence"].as_u64().unwrap();
    loop {
        let message = socket
            .next()
            .await
            .expect("depth messages keep coming until the REST sequence");
        if message["stream"] != "depth@BTC-USD" {
            continue;
        }
        if !apply_depth(&mut book, &message["data"]) {
            // A gap: re-subscribe for a fresh snapshot, as a client should.
            socket.call("UNSUBSCRIBE", &["depth@BTC-USD"]).await;
            socket.call("SUBSCRIBE", &["depth@BTC-USD"]).await;
            continue;
        }
        if book.2 == Some(target) {
            break;
        }
    }
    assert_eq!(
        as_levels(&book.0, true),
        rest["bids"].as_array().unwrap().clone(),
        "bids"
    );
    assert_eq!(
        as_levels(&book.1, false),
        rest["asks"].as_array().unwrap().clone(),
        "asks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edges_trade_with_each_other() {
    let exchange = Exchange::start("two-edges", 2, &[]).await;
    let seller = Trader::signup(&exchange.url(0), "seller").await;
    let buyer = Trader::signup(&exchange.url(1), "buyer").await;
    // A token from one edge works on the other: they share the secret.
    let answer = send(
        &buyer.client,
        "GET",
        &format!("{}/api/v1/balances", exchange.url(0)),
        Some(&buyer.token),
        None,
    )
    .await;
    assert_eq!(answer.status, 200);
    seller.deposit("ETH", "2").await;
    buyer.deposit("USD", "10000").await;

    let mut seller_socket = Socket::connect(&exchange.ws_url(0)).await;
    seller_socket.call("AUTH", &[seller.token.as_str()]).await;
    seller_socket.call("SUBSCRIBE", &["fills@ETH-USD"]).await;
    let mut buyer_socket = Socket::connect(&exchange.ws_url(1)).await;
    buyer_socket.call("AUTH", &[buyer.token.as_str()]).await;
    buyer_socket.call("SUBSCRIBE", &["fills@ETH-USD"]).await;

    let ask = seller.limit("ETH-USD", "sell", "2000", "1").await;
    let bid = buyer.limit("ETH-USD", "buy", "2000", "1").await;
    assert_eq!(bid["status"], "FILLED");
    assert_eq!(bid["fills"][0]["makerOrderId"], ask["orderId"]);
    let seller_fill = seller_socket.next_of("fills@ETH-USD").await;
    let buyer_fill = buyer_socket.next_of("fills@ETH-USD").await;
    assert_eq!(seller_fill["orderId"], ask["orderId"]);
    assert_eq!(buyer_fill["orderId"], bid["orderId"]);
    assert_eq!(seller.balance("USD").await.0, "1998");
    assert_eq!(buyer.balance("ETH").await.0, "0.998");
    let order = seller.ok("GET", "/fills?market=ETH-USD", None).await;
    assert_eq!(order[0]["orderId"], ask["orderId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_durability_answers_once_the_journal_has_it() {
    let exchange = Exchange::start_with("sync", 1, &[], "sync").await;
    let base = exchange.url(0);
    let alice = Trader::signup(&base, "alice").await;
    alice.deposit("USD", "100").await;
    let order = alice.limit(BTC, "buy", "10", "1").await;
    assert_eq!(order["status"], "NEW");
    assert_eq!(alice.balance("USD").await, ("90".into(), "10".into()));
    let journal = exchange.dir.join("data").join("journal");
    let files = std::fs::read_dir(&journal).map(|d| d.count()).unwrap_or(0);
    assert!(
        files > 0,
        "the journal in {} holds the commands",
        journal.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_started_after_trading_rebuilds_candles_from_the_journal() {
    // Sync durability: once a trade is answered, its command is in the journal.
    let mut exchange = Exchange::start_with("candle-rebuild", 1, &[], "sync").await;
    let seller = Trader::signup(&exchange.url(0), "seller").await;
    let buyer = Trader::signup(&exchange.url(0), "buyer").await;
    seller.deposit("BTC", "1").await;
    buyer.deposit("USD", "100000").await;
    seller.limit(BTC, "sell", "30000", "0.5").await;
    let bid = buyer.limit(BTC, "buy", "30000", "0.2").await;
    assert_eq!(bid["status"], "FILLED");

    let late = exchange.add_edge(&[]).await;
    let base = exchange.url(late);
    let klines = send(
        &buyer.client,
        "GET",
        &format!("{base}/api/v1/klines?symbol={BTC}&interval=1h"),
        None,
        None,
    )
    .await
    .body;
    let rows = klines.as_array().expect("klines array");
    let traded: Vec<&Value> = rows.iter().filter(|k| k["trades"] != 0).collect();
    assert_eq!(traded.len(), 1, "{klines}");
    assert_eq!(
        (
            &traded[0]["open"],
            &traded[0]["volume"],
            &traded[0]["trades"]
        ),
        (&json!("30000"), &json!("0.2"), &json!(1)),
        "the late edge saw the trade only in the journal"
    );

    // A live trade reaches the late edge's kline@ stream, counted once on top of the rebuild.
    let mut socket = Socket::connect(&exchange.ws_url(late)).await;
    socket
        .call("SUBSCRIBE", &["kline@BTC-USD:1w", "ticker@BTC-USD"])
        .await;
    buyer.limit(BTC, "buy", "30000", "0.1").await;
    // One message per stream per trade, ticker first (the session's stream order).
    let ticker = socket.next_of("ticker@BTC-USD").await;
    assert_eq!(
        (&ticker["volume"], &ticker["count"]),
        (&json!("0.3"), &json!(2))
    );
    let live = socket.next_of("kline@BTC-USD:1w").await;
    assert_eq!(
        (&live["close"], &live["volume"], &live["trades"]),
        (&json!("30000"), &json!("0.3"), &json!(2)),
        "{live}"
    );
    let rest = send(
        &buyer.client,
        "GET",
        &format!("{base}/api/v1/klines?symbol={BTC}&interval=1w&limit=1"),
        None,
        None,
    )
    .await
    .body;
    assert_eq!(rest[0], live, "the stream and /klines agree");
}

/// `/trades` for `symbol` and each trader's `/fills`, as one comparable value.
async fn history_of(base: &str, symbol: &str, traders: &[&Trader]) -> Value {
    let trades = send(
        &traders[0].client,
        "GET",
        &format!("{base}/api/v1/trades?symbol={symbol}&limit=100"),
        None,
        None,
    )
    .await;
    assert_eq!(trades.status, 200, "{}", trades.body);
    let mut fills = Vec::new();
    for trader in traders {
        fills.push(trader.ok("GET", "/fills?limit=100", None).await);
    }
    json!({ "trades": trades.body, "fills": fills })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_and_trades_survive_an_edge_restart() {
    // Sync durability: once a trade is answered, its command is in the journal.
    let mut exchange = Exchange::start_with("history-restart", 1, &[], "sync").await;
    let seller = Trader::signup(&exchange.url(0), "seller").await;
    let buyer = Trader::signup(&exchange.url(0), "buyer").await;
    seller.deposit("BTC", "1").await;
    buyer.deposit("USD", "100000").await;
    let ask = seller.limit(BTC, "sell", "30000", "0.5").await;
    let first = buyer.limit(BTC, "buy", "30000", "0.2").await;
    let second = buyer.limit(BTC, "buy", "30000.5", "0.1").await;
    assert_eq!(
        (&first["status"], &second["status"]),
        (&json!("FILLED"), &json!("FILLED"))
    );

    let before = history_of(&exchange.url(0), BTC, &[&seller, &buyer]).await;
    let seller_fills = before["fills"][0].as_array().unwrap();
    let buyer_fills = before["fills"][1].as_array().unwrap();
    assert_eq!((seller_fills.len(), buyer_fills.len()), (2, 2), "{before}");
    // Each user sees only their own side, newest first, with the maker/taker fees.
    assert_eq!(buyer_fills[0]["orderId"], second["orderId"]);
    assert_eq!(buyer_fills[1]["orderId"], first["orderId"]);
    for fill in seller_fills {
        assert_eq!(fill["orderId"], ask["orderId"]);
        assert_eq!(
            (&fill["side"], &fill["isMaker"]),
            (&json!("sell"), &json!(true))
        );
        assert_eq!(
            fill["price"], "30000",
            "a trade is at the resting order's price"
        );
    }
    assert_eq!(
        (
            &buyer_fills[1]["side"],
            &buyer_fills[1]["quantity"],
            &buyer_fills[1]["fee"]
        ),
        (&json!("buy"), &json!("0.2"), &json!("0.0004")),
        "taker fee 20 bps of the 0.2 BTC received"
    );
    assert_eq!(
        (
            &seller_fills[1]["quantity"],
            &seller_fills[1]["fee"],
            &seller_fills[1]["feeAsset"]
        ),
        (&json!("0.2"), &json!("6"), &json!("USD")),
        "maker fee 10 bps of the 6000 USD received"
    );
    assert_eq!(before["trades"].as_array().unwrap().len(), 2, "{before}");

    exchange.restart_edge(0, &[]).await;
    // The traders' tokens still work: the secret is on disk.
    let after = history_of(&exchange.url(0), BTC, &[&seller, &buyer]).await;
    assert_eq!(
        after, before,
        "the restarted edge rebuilt /trades and /fills"
    );

    // A live trade after the restart is added once, on top of the rebuilt history.
    let third = buyer.limit(BTC, "buy", "30000", "0.1").await;
    assert_eq!(third["status"], "FILLED");
    let later = history_of(&exchange.url(0), BTC, &[&seller, &buyer]).await;
    assert_eq!(later["trades"].as_array().unwrap().len(), 3, "{later}");
    assert_eq!(later["fills"][0].as_array().unwrap().len(), 3, "{later}");
    assert_eq!(later["fills"][1][0]["orderId"], third["orderId"]);
    assert_eq!(later["fills"][1].as_array().unwrap().len(), 3, "{later}");
}

//! Closed orders and time ranges against the real processes: `pinwheel engine` plus
//! `pinwheel edge`, real HTTP. Orders stay queryable by id and client order id after they
//! fill, are cancelled or expire, after an edge restart and after the engine is SIGKILLed;
//! `/orders/history` pages newest first; past retention a lookup answers `ORDER_ARCHIVED`;
//! `startTime`/`endTime` in ms or s select on klines, trades, fills and the history.
#![allow(clippy::too_many_lines)] // Tests opt out: each scenario reads as one story against the real processes.

mod common;
mod edge_support;

use std::time::{Duration, Instant};

use edge_support::{Exchange, Trader};
use serde_json::{json, Value};

const BTC: &str = "BTC-USD";

async fn place(trader: &Trader, body: Value) -> Value {
    trader.ok("POST", "/order", Some(body)).await
}

fn id(order: &Value) -> u64 {
    order["orderId"].as_u64().expect("an order id")
}

/// Every order of both users as `/order/{id}`, `/order?clientOrderId=` and the history show it.
async fn snapshot(seller: &Trader, buyer: &Trader, ids: &[(u64, bool)]) -> Value {
    let mut orders = Vec::new();
    for (order_id, sold) in ids {
        let trader = if *sold { seller } else { buyer };
        orders.push(trader.ok("GET", &format!("/order/{order_id}"), None).await);
    }
    json!({
        "orders": orders,
        "byClient": seller.ok("GET", "/order?clientOrderId=ask-1", None).await,
        "sellerHistory": seller.ok("GET", "/orders/history", None).await,
        "buyerHistory": buyer.ok("GET", &format!("/orders/history?market={BTC}"), None).await,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_orders_stay_queryable_after_an_edge_restart_and_an_engine_crash() {
    // Sync durability: an acknowledged order is in the journal.
    let mut exchange = Exchange::start_with("closed-orders", 1, &[], "sync").await;
    let seller = Trader::signup(&exchange.url(0), "seller").await;
    let buyer = Trader::signup(&exchange.url(0), "buyer").await;
    seller.deposit("BTC", "1").await;
    buyer.deposit("USD", "100000").await;

    let ask = place(&seller, json!({ "market": BTC, "side": "sell", "price": "30000", "quantity": "0.5", "clientOrderId": "ask-1" })).await;
    let bought = buyer.limit(BTC, "buy", "30000", "0.2").await;
    assert_eq!(bought["status"], "FILLED");
    // IOC for 0.5 against the 0.3 left: 0.3 fills, the rest expires; the ask fills.
    let ioc = place(&buyer, json!({ "market": BTC, "side": "buy", "price": "30000", "quantity": "0.5", "timeInForce": "IOC" })).await;
    assert_eq!(ioc["status"], "EXPIRED");
    let resting = seller.limit(BTC, "sell", "31000", "0.1").await;
    let canceled = seller
        .ok("DELETE", &format!("/order/{}", id(&resting)), None)
        .await;
    assert_eq!(canceled["status"], "CANCELED");

    let ids = [
        (id(&ask), true),
        (id(&bought), false),
        (id(&ioc), false),
        (id(&resting), true),
    ];
    let before = snapshot(&seller, &buyer, &ids).await;
    let orders = &before["orders"];
    let fields = |order: &Value| {
        (
            order["status"].as_str().unwrap().to_string(),
            order["executedQty"].as_str().unwrap().to_string(),
            order["executedQuoteQty"].as_str().unwrap().to_string(),
            order["avgPrice"].clone(),
            order["fee"].as_str().unwrap().to_string(),
            order["feeAsset"].clone(),
        )
    };
    assert_eq!(
        fields(&orders[0]),
        (
            "FILLED".into(),
            "0.5".into(),
            "15000".into(),
            json!("30000"),
            "15".into(),
            json!("USD")
        ),
        "the maker: 10 bps of the 15000 USD received"
    );
    assert_eq!(
        fields(&orders[1]),
        (
            "FILLED".into(),
            "0.2".into(),
            "6000".into(),
            json!("30000"),
            "0.0004".into(),
            json!("BTC")
        ),
        "the taker: 20 bps of the 0.2 BTC received"
    );
    assert_eq!(
        fields(&orders[2]),
        (
            "EXPIRED".into(),
            "0.3".into(),
            "9000".into(),
            json!("30000"),
            "0.0006".into(),
            json!("BTC")
        )
    );
    assert_eq!(
        fields(&orders[3]),
        (
            "CANCELED".into(),
            "0".into(),
            "0".into(),
            Value::Null,
            "0".into(),
            Value::Null
        )
    );
    assert_eq!(orders[2]["timeInForce"], "IOC", "the type as placed");
    for order in orders.as_array().unwrap() {
        let (created, updated) = (
            order["time"].as_u64().unwrap(),
            order["updateTime"].as_u64().unwrap(),
        );
        assert!(created > 1_600_000_000_000 && updated >= created, "{order}");
    }
    assert!(
        orders[0]["updateTime"].as_u64() > orders[0]["time"].as_u64(),
        "filled later"
    );
    assert_eq!(before["byClient"]["orderId"], ask["orderId"]);
    assert_eq!(before["byClient"]["status"], "FILLED");
    let history_ids =
        |rows: &Value| -> Vec<u64> { rows.as_array().unwrap().iter().map(id).collect() };
    assert_eq!(
        history_ids(&before["sellerHistory"]),
        vec![id(&resting), id(&ask)],
        "newest first"
    );
    assert_eq!(
        history_ids(&before["buyerHistory"]),
        vec![id(&ioc), id(&bought)]
    );
    // Paging: limit, then fromId (ids up to it).
    let page = seller.ok("GET", "/orders/history?limit=1", None).await;
    assert_eq!(history_ids(&page), vec![id(&resting)]);
    let next = seller
        .ok(
            "GET",
            &format!("/orders/history?limit=1&fromId={}", id(&resting) - 1),
            None,
        )
        .await;
    assert_eq!(history_ids(&next), vec![id(&ask)]);
    assert_eq!(
        next[0], before["orders"][0],
        "the history row is the order's answer"
    );
    // Another user's order is unknown, not archived.
    let theirs = buyer
        .call("GET", &format!("/order/{}", id(&ask)), None)
        .await;
    assert_eq!((theirs.status, theirs.code()), (404, "UNKNOWN_ORDER"));

    exchange.restart_edge(0, &[]).await;
    let after_restart = snapshot(&seller, &buyer, &ids).await;
    assert_eq!(
        after_restart, before,
        "the restarted edge rebuilt the orders from the journal"
    );

    exchange.crash_engine().await;
    let after_crash = snapshot(&seller, &buyer, &ids).await;
    assert_eq!(
        after_crash, before,
        "the edge kept the orders through the engine's crash"
    );
    // A new order after the crash is queryable too, and a new edge rebuilds everything.
    let deadline = Instant::now() + Duration::from_secs(20);
    let late = loop {
        let body = json!({ "market": BTC, "side": "buy", "price": "29000", "quantity": "0.1" });
        let answer = buyer.call("POST", "/order", Some(body)).await;
        if answer.status == 200 {
            break answer.body;
        }
        assert!(
            Instant::now() < deadline,
            "no order after the engine restart: {}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    buyer
        .ok("DELETE", &format!("/order/{}", id(&late)), None)
        .await;
    exchange.restart_edge(0, &[]).await;
    let rebuilt = snapshot(&seller, &buyer, &ids).await;
    assert_eq!(rebuilt["orders"], before["orders"]);
    let late_answer = buyer
        .ok("GET", &format!("/order/{}", id(&late)), None)
        .await;
    assert_eq!(late_answer["status"], "CANCELED");
    assert_eq!(history_ids(&rebuilt["buyerHistory"])[0], id(&late));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_retention_a_closed_order_answers_order_archived() {
    let dir = std::env::temp_dir().join(format!("pinwheel-retention-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("edge.toml");
    std::fs::write(&config, "[edge]\norder_retention = 2\n").unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let exchange = Exchange::start("retention", 1, &["--config", &config_arg]).await;
    let trader = Trader::signup(&exchange.url(0), "keeper").await;
    trader.deposit("USD", "1000").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let body = json!({ "market": BTC, "side": "buy", "price": "100", "quantity": "0.1", "clientOrderId": format!("keep-{n}") });
        let order = place(&trader, body).await;
        trader
            .ok("DELETE", &format!("/order/{}", id(&order)), None)
            .await;
        ids.push(id(&order));
    }
    let oldest = trader
        .call("GET", &format!("/order/{}", ids[0]), None)
        .await;
    assert_eq!(
        (oldest.status, oldest.code()),
        (404, "ORDER_ARCHIVED"),
        "{}",
        oldest.body
    );
    let message = oldest.body["message"].as_str().unwrap();
    assert!(
        message.contains("past retention") && message.contains("order_retention"),
        "{message}"
    );
    let by_client = trader
        .call("GET", "/order?clientOrderId=keep-0", None)
        .await;
    assert_eq!(
        (by_client.status, by_client.code()),
        (404, "ORDER_ARCHIVED")
    );
    for kept in &ids[1..] {
        let answer = trader.ok("GET", &format!("/order/{kept}"), None).await;
        assert_eq!(answer["status"], "CANCELED");
    }
    let history = trader.ok("GET", "/orders/history", None).await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    let never = trader
        .call("GET", &format!("/order/{}", ids[2] + 100), None)
        .await;
    assert_eq!((never.status, never.code()), (404, "UNKNOWN_ORDER"));
    for (path, field) in [
        ("/orders/history?fromId=abc", "fromId"),
        ("/orders/history?startTime=-5", "startTime"),
        ("/orders/history?startTime=2000&endTime=1000", "startTime"),
        ("/order", "orderId"),
    ] {
        let answer = trader.call("GET", path, None).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert!(
            answer.body["message"].as_str().unwrap().contains(field),
            "{path}: {}",
            answer.body
        );
    }
    drop(exchange);
    let _ = std::fs::remove_dir_all(&dir);
}

fn times(rows: &Value, key: &str) -> Vec<u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row[key].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_ranges_in_ms_and_seconds_select_klines_trades_fills_and_history() {
    let exchange = Exchange::start("ranges", 1, &[]).await;
    let base = exchange.url(0);
    let seller = Trader::signup(&base, "seller").await;
    let buyer = Trader::signup(&base, "buyer").await;
    seller.deposit("BTC", "1").await;
    buyer.deposit("USD", "100000").await;
    seller.limit(BTC, "sell", "30000", "0.5").await;
    let first = buyer.limit(BTC, "buy", "30000", "0.1").await;
    // More than a second apart, so a range in seconds can fall between them.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = buyer.limit(BTC, "buy", "30000", "0.2").await;
    let public = |query: String| {
        let (client, base) = (buyer.client.clone(), base.clone());
        async move {
            let answer =
                edge_support::send(&client, "GET", &format!("{base}/api/v1{query}"), None, None)
                    .await;
            assert_eq!(answer.status, 200, "{query}: {}", answer.body);
            answer.body
        }
    };
    let trades = public(format!("/trades?symbol={BTC}")).await;
    let trade_times = times(&trades, "time");
    let (t2, t1) = (trade_times[0], trade_times[1]);
    assert!(t2 > t1 + 1000, "{trades}");

    // Klines: the query, a range in seconds, startTime alone, endTime alone.
    let all = public(format!(
        "/klines?symbol={BTC}&interval=1m&startTime=0&endTime=9999999999999"
    ))
    .await;
    let counted: u64 = all
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["trades"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 2, "{all}");
    assert!(all[0]["openTime"].as_u64().unwrap() <= t1, "{all}");
    let seconds = public(format!(
        "/klines?symbol={BTC}&interval=1m&startTime={}&endTime={}",
        t1 / 1000 - 120,
        t2 / 1000 + 120
    ))
    .await;
    let traded = |rows: &Value| -> Vec<Value> {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["trades"] != 0)
            .cloned()
            .collect()
    };
    assert_eq!(
        seconds[0], all[0],
        "the same range in seconds starts at the first trade"
    );
    assert_eq!(traded(&seconds), traded(&all));
    let from_1970 = public(format!(
        "/klines?symbol={BTC}&interval=1m&startTime=0&limit=1"
    ))
    .await;
    assert_eq!(from_1970.as_array().unwrap().len(), 1, "{from_1970}");
    assert!(
        from_1970[0]["trades"].as_u64().unwrap() >= 1,
        "the first candle holds the first trade: {from_1970}"
    );
    let up_to = public(format!(
        "/klines?symbol={BTC}&interval=1m&endTime={t2}&limit=2"
    ))
    .await;
    let last = up_to.as_array().unwrap().last().unwrap();
    assert!(
        last["openTime"].as_u64().unwrap() <= t2 && last["closeTime"].as_u64().unwrap() >= t2,
        "{up_to}"
    );

    // Trades: start in seconds between the two, end in ms at the first, start alone with a limit.
    let between_s = t2 / 1000;
    let select = |rows: &Value| times(rows, "time");
    let later = public(format!("/trades?symbol={BTC}&startTime={between_s}")).await;
    assert_eq!(select(&later), vec![t2]);
    let earlier = public(format!("/trades?symbol={BTC}&endTime={t1}")).await;
    assert_eq!(select(&earlier), vec![t1]);
    let earlier_s = public(format!("/trades?symbol={BTC}&endTime={}", t1 / 1000 + 1)).await;
    assert_eq!(select(&earlier_s), vec![t1], "an end in seconds");
    let oldest = public(format!("/trades?symbol={BTC}&startTime=0&limit=1")).await;
    assert_eq!(
        select(&oldest),
        vec![t1],
        "startTime alone: the first from it"
    );
    let newest = public(format!(
        "/trades?symbol={BTC}&endTime=9999999999999&limit=1"
    ))
    .await;
    assert_eq!(
        select(&newest),
        vec![t2],
        "endTime alone: the last up to it"
    );

    // Fills and the order history, the same way.
    let fills = buyer
        .ok("GET", &format!("/fills?startTime={between_s}"), None)
        .await;
    assert_eq!(select(&fills), vec![t2]);
    let fills = buyer.ok("GET", &format!("/fills?endTime={t1}"), None).await;
    assert_eq!(select(&fills), vec![t1]);
    let fills = buyer
        .ok("GET", "/fills?startTime=0&endTime=9999999999999", None)
        .await;
    assert_eq!(select(&fills), vec![t2, t1]);
    let history = buyer
        .ok(
            "GET",
            &format!("/orders/history?startTime={between_s}"),
            None,
        )
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history[0]["orderId"], second["orderId"]);
    let history = buyer
        .ok(
            "GET",
            &format!("/orders/history?endTime={}", t1 / 1000 + 1),
            None,
        )
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history[0]["orderId"], first["orderId"]);
    let history = buyer
        .ok("GET", "/orders/history?startTime=0&limit=1", None)
        .await;
    assert_eq!(
        history[0]["orderId"], first["orderId"],
        "startTime alone: the first from it"
    );
}

//! WebSocket `/ws`: SUBSCRIBE / UNSUBSCRIBE / AUTH, public streams (depth@, trade@, ticker@,
//! kline@) and, once authenticated, private ones (orders, fills@). A slow client gets a
//! bounded queue and is then closed with a reason; it never slows the edge or others.

use std::collections::BTreeSet;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use pinwheel_candles::candle::KlineRange;
use pinwheel_candles::Interval;
use pinwheel_engine::config::MarketSpec;
use pinwheel_engine::message::{
    BookDelta, EventKind, Fill, OrderUpdate, Side, Trade, FLAG_QUERY_ANSWER,
};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::api::error::ApiError;
use crate::api::public::{depth_json, kline_json, parse_interval, query_depth, ticker_json};
use crate::api::translate::{fill_json, order_json};
use crate::market_data::DepthSnapshot;
use crate::owners::Published;
use crate::sessions::auth::ApiKeyText;
use crate::state::{AppState, Shared};
use crate::units::{price_text, quantity_text};

/// How long a client's full queue may stay full before the client is closed as too slow.
const SLOW_CLIENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Close code for a client that cannot keep up (1008: policy violation).
const CLOSE_SLOW: u16 = 1008;

/// One subscription.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    /// Book snapshot then deltas.
    Depth(u32),
    /// Public trades.
    Trade(u32),
    /// 24 h ticker after each trade.
    Ticker(u32),
    /// Current candle of an interval after each trade.
    Kline(u32, Interval),
    /// The user's order updates.
    Orders,
    /// The user's fills in one market.
    Fills(u32),
}

/// Parses `depth@BTC-USD`, `kline@BTC-USD:1m`, `orders`, ...
pub fn parse_stream(state: &AppState, name: &str) -> Result<Stream, ApiError> {
    if name == "orders" {
        return Ok(Stream::Orders);
    }
    let (kind, rest) = name
        .split_once('@')
        .ok_or_else(|| ApiError::field("params", format!("{name:?} is not a stream name")))?;
    let (symbol, interval) = match rest.split_once(':') {
        Some((symbol, interval)) => (symbol, Some(interval)),
        None => (rest, None),
    };
    let market = state.market("params", symbol)?.id;
    match (kind, interval) {
        ("depth", None) => Ok(Stream::Depth(market)),
        ("trade", None) => Ok(Stream::Trade(market)),
        ("ticker", None) => Ok(Stream::Ticker(market)),
        ("fills", None) => Ok(Stream::Fills(market)),
        ("kline", Some(interval)) => Ok(Stream::Kline(market, parse_interval("params", interval)?)),
        ("kline", None) => Err(ApiError::field(
            "params",
            "kline streams are kline@SYMBOL:INTERVAL",
        )),
        _ => Err(ApiError::field(
            "params",
            format!("{name:?} is not a stream name"),
        )),
    }
}

/// The name a stream is listed under (LIST_SUBSCRIPTIONS): `depth@BTC-USD`, `orders`, ...;
/// [`parse_stream`] reads it back as the same stream.
pub fn stream_name(state: &AppState, stream: &Stream) -> String {
    let symbol = |m: &u32| {
        state
            .market_by_id(*m)
            .map(|m| m.symbol.clone())
            .unwrap_or_default()
    };
    match stream {
        Stream::Depth(m) => format!("depth@{}", symbol(m)),
        Stream::Trade(m) => format!("trade@{}", symbol(m)),
        Stream::Ticker(m) => format!("ticker@{}", symbol(m)),
        Stream::Fills(m) => format!("fills@{}", symbol(m)),
        Stream::Orders => "orders".into(),
        Stream::Kline(m, interval) => format!("kline@{}:{interval}", symbol(m)),
    }
}

/// `GET /ws` upgrade.
pub async fn upgrade(State(state): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve(state, socket))
}

/// Per-connection state.
struct Session {
    state: Shared,
    user: Option<u64>,
    streams: BTreeSet<Stream>,
    /// For each depth subscription, deltas up to this update id are already in its snapshot.
    depth_from: Vec<(u32, Option<u64>)>,
    out: mpsc::Sender<Message>,
}

/// Why a connection ends.
enum End {
    Closed,
    Slow,
}

async fn serve(state: Shared, socket: WebSocket) {
    let (sink, mut incoming) = socket.split();
    let (out, queue) = mpsc::channel::<Message>(state.config.ws_buffer.max(16));
    let (close, close_signal) = tokio::sync::oneshot::channel::<CloseFrame>();
    let writer = tokio::spawn(write_loop(sink, queue, close_signal));
    let mut events = state.link.events.subscribe();
    let mut session = Session {
        state,
        user: None,
        streams: BTreeSet::new(),
        depth_from: Vec::new(),
        out,
    };
    let end = loop {
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if session.command(text.as_str()).await.is_err() { break End::Slow; }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Closed,
                Some(Ok(_)) => {}
            },
            event = events.recv() => match event {
                Ok(published) => if session.on_event(&published).await.is_err() { break End::Slow; },
                Err(broadcast::error::RecvError::Lagged(_)) => break End::Slow,
                Err(broadcast::error::RecvError::Closed) => break End::Closed,
            },
        }
    };
    if let End::Slow = end {
        let _ = close.send(CloseFrame {
            code: CLOSE_SLOW,
            reason: Utf8Bytes::from_static("slow consumer: too many messages queued"),
        });
    }
    drop(session.out);
    // Bounded: a client that does not read at all cannot keep this task alive.
    let _ = tokio::time::timeout(WRITE_TIMEOUT, writer).await;
}

/// Longest one write to a client may take before the client is dropped.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends queued messages; a close signal jumps the queue.
async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    mut close_signal: tokio::sync::oneshot::Receiver<CloseFrame>,
) {
    loop {
        let message = tokio::select! {
            biased;
            frame = &mut close_signal => match frame {
                Ok(frame) => Message::Close(Some(frame)),
                Err(_) => match queue.recv().await { Some(m) => m, None => break },
            },
            message = queue.recv() => match message { Some(m) => m, None => break },
        };
        let close = matches!(message, Message::Close(_));
        match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
            Ok(Ok(())) if !close => {}
            _ => break,
        }
    }
    let _ = sink.close().await;
}

impl Session {
    /// Queues a message, waiting (bounded) while the client's queue is full; `Err` when the
    /// client stayed too slow for the whole grace period. Waiting here slows only this
    /// client's own task: the fan-out keeps its events in the broadcast buffer meanwhile,
    /// and a client that falls a whole broadcast buffer behind is closed too.
    async fn push(&self, value: Value) -> Result<(), ()> {
        let message = Message::Text(value.to_string().into());
        match tokio::time::timeout(SLOW_CLIENT_GRACE, self.out.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn reply(&self, id: &Value, result: Result<Value, ApiError>) -> Result<(), ()> {
        match result {
            Ok(result) => self.push(json!({ "id": id, "result": result })).await,
            Err(e) => {
                self.push(json!({ "id": id, "error": { "code": e.code, "message": e.message } }))
                    .await
            }
        }
    }

    async fn command(&mut self, text: &str) -> Result<(), ()> {
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return self
                .reply(
                    &Value::Null,
                    Err(ApiError::bad("INVALID_JSON", "message is not JSON")),
                )
                .await;
        };
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let params: Vec<String> = request
            .get("params")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let result = match request.get("method").and_then(Value::as_str) {
            Some("SUBSCRIBE") => self.subscribe(&params).await,
            Some("UNSUBSCRIBE") => self.unsubscribe(&params),
            Some("AUTH") => self.auth(&params).await,
            Some("LIST_SUBSCRIPTIONS") => Ok(json!(self
                .streams
                .iter()
                .map(|s| stream_name(&self.state, s))
                .collect::<Vec<_>>())),
            _ => Err(ApiError::field(
                "method",
                "expected SUBSCRIBE, UNSUBSCRIBE, AUTH or LIST_SUBSCRIPTIONS",
            )),
        };
        let snapshots = match &result {
            Ok(_) => self.pending_snapshots(&params).await,
            Err(_) => Vec::new(),
        };
        self.reply(&id, result).await?;
        for snapshot in snapshots {
            self.push(snapshot).await?;
        }
        Ok(())
    }

    async fn auth(&mut self, params: &[String]) -> Result<Value, ApiError> {
        let credential = params.first().ok_or_else(|| ApiError::missing("params"))?;
        let user = match self.state.tokens.verify(credential) {
            Ok(user) => user,
            Err(error) => match ApiKeyText::parse(credential) {
                Ok(key) => {
                    crate::sessions::extract::user_for_key(&key, &self.state)
                        .await?
                        .id
                }
                Err(_) => return Err(error),
            },
        };
        self.user = Some(user);
        Ok(json!({ "userId": user }))
    }

    async fn subscribe(&mut self, params: &[String]) -> Result<Value, ApiError> {
        let mut parsed = Vec::new();
        for name in params {
            let stream = parse_stream(&self.state, name)?;
            if matches!(stream, Stream::Orders | Stream::Fills(_)) && self.user.is_none() {
                return Err(ApiError::unauthorized(format!(
                    "{name}: send AUTH with a token first"
                )));
            }
            parsed.push(stream);
        }
        if parsed.is_empty() {
            return Err(ApiError::missing("params"));
        }
        self.streams.extend(parsed);
        Ok(Value::Null)
    }

    fn unsubscribe(&mut self, params: &[String]) -> Result<Value, ApiError> {
        for name in params {
            let stream = parse_stream(&self.state, name)?;
            if let Stream::Depth(market) = stream {
                self.depth_from.retain(|(m, _)| *m != market);
            }
            self.streams.remove(&stream);
        }
        Ok(Value::Null)
    }

    /// Depth snapshots for new depth subscriptions (sent after the reply, before any delta).
    async fn pending_snapshots(&mut self, params: &[String]) -> Vec<Value> {
        let mut out = Vec::new();
        for name in params {
            let Ok(Stream::Depth(market)) = parse_stream(&self.state, name) else {
                continue;
            };
            if self.depth_from.iter().any(|(m, _)| *m == market) {
                continue;
            }
            let Some(snapshot) = self.snapshot(market).await else {
                continue;
            };
            let Some(spec) = self.state.market_by_id(market) else {
                continue;
            };
            self.depth_from.push((market, snapshot.update_id));
            let mut data = depth_json(&self.state, spec, &snapshot);
            data["type"] = json!("snapshot");
            out.push(json!({ "stream": name, "data": data }));
        }
        out
    }

    async fn snapshot(&self, market: u32) -> Option<DepthSnapshot> {
        let limit = self.state.link.market_data.depth_limit() as usize;
        let local = self
            .state
            .link
            .market_data
            .with(market, |s| s.ready.then(|| s.book.snapshot(limit)))
            .flatten();
        match local {
            Some(snapshot) => Some(snapshot),
            None => query_depth(&self.state, market, limit as u32).await.ok(),
        }
    }

    async fn on_event(&mut self, published: &Published) -> Result<(), ()> {
        let event = &published.event;
        match EventKind::from_u8(event.head.kind) {
            Some(EventKind::BookDelta) => self.on_delta(&event.body()).await,
            Some(EventKind::Trade) => self.on_trade(&event.body(), event.head.timestamp_ns).await,
            Some(EventKind::OrderUpdate)
                if Some(published.owner) == self.user
                    && event.head.flags & FLAG_QUERY_ANSWER == 0 =>
            {
                if !self.streams.contains(&Stream::Orders) {
                    return Ok(());
                }
                let update: OrderUpdate = event.body();
                self.push(json!({ "stream": "orders", "data": order_json(&self.state, &update) }))
                    .await
            }
            Some(EventKind::Fill) if Some(published.owner) == self.user => {
                let fill: Fill = event.body();
                let Some(market) = self.state.market_by_id(fill.market) else {
                    return Ok(());
                };
                if !self.streams.contains(&Stream::Fills(fill.market)) {
                    return Ok(());
                }
                let data = fill_json(
                    &self.state,
                    market,
                    &fill,
                    Some(event.head.timestamp_ns / 1_000_000),
                );
                self.push(json!({ "stream": format!("fills@{}", market.symbol), "data": data }))
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn on_delta(&mut self, delta: &BookDelta) -> Result<(), ()> {
        let Some(entry) = self.depth_from.iter_mut().find(|(m, _)| *m == delta.market) else {
            return Ok(());
        };
        let Some(market) = self.state.market_by_id(delta.market) else {
            return Ok(());
        };
        let Some(from) = entry.1 else {
            // The snapshot was of an empty book, which carries no update id: send a fresh
            // snapshot (the local book already holds this delta) so the client has a baseline.
            let limit = self.state.link.market_data.depth_limit() as usize;
            let local = self
                .state
                .link
                .market_data
                .with(delta.market, |s| s.ready.then(|| s.book.snapshot(limit)))
                .flatten();
            let Some(snapshot) = local.filter(|s| s.update_id.is_some()) else {
                return Ok(());
            };
            entry.1 = snapshot.update_id;
            let mut data = depth_json(&self.state, market, &snapshot);
            data["type"] = json!("snapshot");
            return self
                .push(json!({ "stream": format!("depth@{}", market.symbol), "data": data }))
                .await;
        };
        if delta.update_id <= from {
            return Ok(());
        }
        entry.1 = Some(delta.update_id);
        let (base, quote) = self.state.assets_of(market);
        let level = json!([
            price_text(delta.price, market, quote),
            quantity_text(delta.quantity, market, base)
        ]);
        let (bids, asks) = if delta.side == Side::Buy as u8 {
            (vec![level], vec![])
        } else {
            (vec![], vec![level])
        };
        let data = json!({ "type": "update", "symbol": market.symbol, "sequence": delta.update_id,
                           "prevSequence": delta.update_id - 1, "bids": bids, "asks": asks });
        self.push(json!({ "stream": format!("depth@{}", market.symbol), "data": data }))
            .await
    }

    async fn on_trade(&self, trade: &Trade, time_ns: u64) -> Result<(), ()> {
        let Some(market) = self.state.market_by_id(trade.market) else {
            return Ok(());
        };
        let streams: Vec<Stream> = self
            .streams
            .iter()
            .filter(|s| matches!(s, Stream::Trade(m) | Stream::Ticker(m) | Stream::Kline(m, _) if *m == trade.market))
            .cloned()
            .collect();
        for stream in streams {
            let data = self.trade_data(&stream, market, trade, time_ns);
            self.push(json!({ "stream": stream_name(&self.state, &stream), "data": data }))
                .await?;
        }
        Ok(())
    }

    fn trade_data(
        &self,
        stream: &Stream,
        market: &MarketSpec,
        trade: &Trade,
        time_ns: u64,
    ) -> Value {
        let time_ms = time_ns / 1_000_000;
        let (base, quote) = self.state.assets_of(market);
        // The output reader put this trade into the store before publishing it.
        let store = self.state.link.market_data.candles();
        let at = time_ms as i64;
        match stream {
            Stream::Ticker(_) => store
                .ticker_24h(&market.symbol, at)
                .map(|day| ticker_json(&self.state, market, &day))
                .unwrap_or(Value::Null),
            Stream::Kline(_, interval) => {
                KlineRange::new(*interval, Some(interval.align(at)), at, 1)
                    .and_then(|bucket| store.klines(&market.symbol, &bucket))
                    .ok()
                    .and_then(|klines| klines.first().map(|k| kline_json(&self.state, market, k)))
                    .unwrap_or(Value::Null)
            }
            _ => json!({
                "tradeId": trade.trade_id,
                "symbol": market.symbol,
                "price": price_text(trade.price, market, quote),
                "quantity": quantity_text(trade.quantity, market, base),
                "side": if trade.taker_side == Side::Buy as u8 { "buy" } else { "sell" },
                "time": time_ms,
                "timeNs": time_ns,
            }),
        }
    }
}

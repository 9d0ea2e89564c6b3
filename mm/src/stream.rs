//! The market maker's WebSocket: its own order updates and fills, reconnecting with
//! backoff when the edge goes away (an edge restart), and telling the quoting loop so it
//! re-syncs its open orders.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

/// First reconnect delay; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(100);
/// Longest reconnect delay.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Time bound of connecting and of each subscription reply.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the stream tells the quoting loop.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// (Re)connected and subscribed: re-sync the open orders.
    Connected,
    /// An `orders` message: one of the bot's orders changed.
    Order(Value),
    /// A `fills@SYM` message: the bot traded in this market.
    Fill(String),
    /// The connection is gone (with why); the stream reconnects by itself.
    Disconnected(String),
}

/// Classifies one text message from the edge.
pub fn classify(text: &str) -> Option<StreamEvent> {
    let message: Value = serde_json::from_str(text).ok()?;
    let stream = message.get("stream")?.as_str()?;
    if stream == "orders" {
        return Some(StreamEvent::Order(message.get("data")?.clone()));
    }
    stream
        .strip_prefix("fills@")
        .map(|market| StreamEvent::Fill(market.to_string()))
}

/// Keeps a connection to `url` until `shutdown` turns true, forwarding events to `events`.
/// `credential` holds the current token or API key (it changes on re-sign-in).
pub async fn follow(
    url: String,
    credential: watch::Receiver<String>,
    streams: Vec<String>,
    events: mpsc::Sender<StreamEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = BACKOFF_START;
    while !*shutdown.borrow() {
        let token = credential.borrow().clone();
        let outcome = tokio::select! {
            outcome = session(&url, &token, &streams, &events) => outcome,
            _ = shutdown.changed() => return,
        };
        let reason = match outcome {
            Ok(connected_long) => {
                if connected_long {
                    backoff = BACKOFF_START;
                }
                "closed by the edge".to_string()
            }
            Err(error) => error.to_string(),
        };
        if events
            .send(StreamEvent::Disconnected(reason))
            .await
            .is_err()
        {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection: AUTH, SUBSCRIBE, then forward until it ends. Returns whether it got as
/// far as subscribing (so the backoff starts over).
async fn session(
    url: &str,
    credential: &str,
    streams: &[String],
    events: &mpsc::Sender<StreamEvent>,
) -> anyhow::Result<bool> {
    let (mut socket, _) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| anyhow::anyhow!("connecting to {url} timed out"))??;
    let requests = [
        json!({"method": "AUTH", "params": [credential], "id": 1}),
        json!({"method": "SUBSCRIBE", "params": streams, "id": 2}),
    ];
    for request in requests {
        let id = request["id"].clone();
        socket.send(Message::text(request.to_string())).await?;
        // Wait (bounded) for the reply with this id; stream messages may come first.
        let reply = tokio::time::timeout(CONNECT_TIMEOUT, async {
            while let Some(message) = socket.next().await {
                if let Message::Text(text) = message? {
                    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if value.get("id") == Some(&id) {
                        return Ok(value);
                    }
                }
            }
            Err(anyhow::anyhow!("closed before answering"))
        })
        .await
        .map_err(|_| anyhow::anyhow!("no answer to {}", request["method"]))??;
        if reply.get("error").is_some_and(|e| !e.is_null()) || reply.get("code").is_some() {
            anyhow::bail!("{} refused: {reply}", request["method"]);
        }
    }
    if events.send(StreamEvent::Connected).await.is_err() {
        return Ok(true);
    }
    while let Some(message) = socket.next().await {
        match message? {
            Message::Text(text) => {
                if let Some(event) = classify(&text) {
                    if events.send(event).await.is_err() {
                        return Ok(true);
                    }
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified_by_stream() {
        let order = r#"{"stream":"orders","data":{"orderId":3,"status":"FILLED"}}"#;
        assert_eq!(
            classify(order),
            Some(StreamEvent::Order(
                json!({"orderId": 3, "status": "FILLED"})
            ))
        );
        let fill = r#"{"stream":"fills@ETH-USD","data":{"price":"1"}}"#;
        assert_eq!(classify(fill), Some(StreamEvent::Fill("ETH-USD".into())));
        assert_eq!(classify(r#"{"stream":"depth@BTC-USD","data":{}}"#), None);
        assert_eq!(classify(r#"{"id":2,"result":null}"#), None);
        assert_eq!(classify("not json"), None);
    }
}

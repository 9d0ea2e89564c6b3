//! A WebSocket client that stops reading is closed as a slow consumer; a client that keeps
//! reading on the same edge keeps getting every message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pinwheel_edge::owners::Published;
use pinwheel_engine::message::{Event, EventKind, Trade};
use tokio_tungstenite::tungstenite::Message;

mod support {
    pub use pinwheel_edge::test_support_public::state_without_engine;
}

async fn subscribe(
    url: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let request = r#"{"method":"SUBSCRIBE","params":["trade@BTC-USD"],"id":1}"#;
    socket.send(Message::Text(request.into())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(reply.to_text().unwrap().contains("\"id\":1"));
    socket
}

/// The reading client may trail the sender by at most this many trades: far less than the
/// edge's fan-out buffer (32768), so only a client that stops reading can ever be cut off,
/// however slow the machine; far more than the stalled client's queue, so that one is.
const READER_WINDOW: u64 = 2_000;

/// Waits (bounded) until the reading client is within [`READER_WINDOW`] of `sent`.
async fn keep_within_reach(received: &AtomicU64, sent: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while received.load(Ordering::Relaxed) + READER_WINDOW < sent {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reading client stopped receiving at {} of {sent}",
            received.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_others_are_unaffected() {
    let state = support::state_without_engine(16);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let app = pinwheel_edge::server::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut stalled = subscribe(&url).await;
    let mut reader = subscribe(&url).await;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let reading = tokio::spawn(async move {
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_secs(3), reader.next()).await
        {
            if message.is_text() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    const TRADES: u64 = 100_000;
    for i in 0..TRADES {
        let trade = Trade {
            market: 0,
            trade_id: i + 1,
            price: 100,
            quantity: 1,
            taker_side: 1,
            ..Default::default()
        };
        let _ = state.link.events.send(Published {
            event: Event::new(EventKind::Trade as u8, &trade),
            owner: 0,
        });
        if i % 500 == 499 {
            keep_within_reach(&received, i + 1).await;
        }
    }

    // The stalled client now drains what was buffered and then finds the connection closed.
    let mut stalled_messages = 0u64;
    let mut close_code = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(15), stalled.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => stalled_messages += 1,
            Ok(Some(Ok(Message::Close(frame)))) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => break,
            Err(_) => panic!("the stalled client was never closed"),
        }
    }
    assert!(
        stalled_messages < TRADES,
        "the slow client was cut off, not served everything"
    );
    assert!(
        close_code.is_none_or(|code| code == 1008),
        "closed as a slow consumer: {close_code:?}"
    );
    reading.await.unwrap();
    assert_eq!(
        received.load(Ordering::Relaxed),
        TRADES,
        "the reading client got every trade"
    );
}

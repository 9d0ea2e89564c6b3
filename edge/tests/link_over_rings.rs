//! The EngineLink over real shared-memory rings, with a small scripted engine on the other
//! side: requests complete on `Done`, public events reach the market data and subscribers,
//! a stopped engine answers 503 at once, and sync durability holds answers until durable.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pinwheel_edge::link::{DurableSource, EngineLink};
use pinwheel_edge::market_data::MarketData;
use pinwheel_edge::ring_io::{RingInput, RingOutput};
use pinwheel_engine::config::{EngineConfig, MarketTable};
use pinwheel_engine::message::{
    BookDelta, Command, CommandKind, Done, Event, EventKind, OrderStatus, OrderUpdate, PlaceOrder,
    RECORD_SIZE,
};
use pinwheel_ring::{output_path, BroadcastWriter, InputConfig, InputHub, WaitStrategy};

fn run_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("pinwheel-edge-link-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Answers each PlaceOrder with a BookDelta, an OrderUpdate (NEW) and Done; other commands with Done.
fn scripted_engine(dir: PathBuf, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    let mut hub = InputHub::open_or_create(&dir, InputConfig::default()).unwrap();
    let mut output =
        BroadcastWriter::open_or_create(&output_path(&dir), RECORD_SIZE, 1024).unwrap();
    std::thread::spawn(move || {
        let mut sequence = 0u64;
        let mut update_id = 0u64;
        let mut order_id = 0u64;
        while !stop.load(Ordering::Acquire) {
            hub.heartbeat();
            output.heartbeat();
            hub.maintain(|_| {});
            let mut answers: Vec<Event> = Vec::new();
            hub.drain(64, |edge, bytes| {
                let mut command = Command::from_bytes(bytes);
                assert_eq!(command.head.edge_id, edge, "the edge stamps its own id");
                sequence += 1;
                command.head.sequence = sequence;
                let stamp = |mut event: Event| {
                    event.head.edge_id = command.head.edge_id;
                    event.head.request_id = command.head.request_id;
                    event.head.user_id = command.head.user_id;
                    event.head.sequence = sequence;
                    event
                };
                if command.head.kind == CommandKind::PlaceOrder as u8 {
                    let order: PlaceOrder = command.body();
                    order_id += 1;
                    update_id += 1;
                    let delta = BookDelta {
                        market: order.market,
                        side: order.side,
                        price: order.price,
                        quantity: order.quantity,
                        update_id,
                        ..Default::default()
                    };
                    answers.push(stamp(Event::new(EventKind::BookDelta as u8, &delta)));
                    let update = OrderUpdate {
                        market: order.market,
                        side: order.side,
                        order_type: order.order_type,
                        time_in_force: order.time_in_force,
                        status: OrderStatus::New as u8,
                        order_id,
                        price: order.price,
                        quantity: order.quantity,
                        ..Default::default()
                    };
                    answers.push(stamp(Event::new(EventKind::OrderUpdate as u8, &update)));
                }
                answers.push(stamp(Event::new(EventKind::Done as u8, &Done::default())));
            });
            for event in &answers {
                output.publish(event.as_bytes());
            }
            if answers.is_empty() {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    })
}

fn place(price: i64) -> Command {
    let order = PlaceOrder {
        market: 0,
        side: 1,
        order_type: 1,
        time_in_force: 1,
        price,
        quantity: 10,
        ..Default::default()
    };
    Command::new(CommandKind::PlaceOrder as u8, &order)
}

struct Fixture {
    link: Arc<EngineLink>,
    reader: Option<JoinHandle<()>>,
    engine: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str, durable: Option<Box<dyn DurableSource>>) -> Self {
        let dir = run_dir(name);
        let stop = Arc::new(AtomicBool::new(false));
        let engine = scripted_engine(dir.clone(), stop.clone());
        let table = MarketTable::resolve(&EngineConfig::default()).unwrap();
        let input =
            RingInput::attach(&dir, Duration::from_secs(5), Duration::from_millis(300)).unwrap();
        let output = RingOutput::attach(&dir, WaitStrategy::Backoff).unwrap();
        let link = EngineLink::new(
            Box::new(input),
            Duration::from_millis(1500),
            Arc::new(MarketData::new(&table, 50, 10)),
            100,
        );
        let reader = link.start_reader(Box::new(output), durable);
        Self {
            link,
            reader: Some(reader),
            engine: Some(engine),
            stop,
            dir,
        }
    }

    fn stop_engine(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(engine) = self.engine.take() {
            engine.join().unwrap();
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop_engine();
        self.link.stop();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_complete_on_done_and_public_events_fan_out() {
    let fixture = Fixture::new("basic", None);
    let mut events = fixture.link.events.subscribe();
    let mut answers = Vec::new();
    for price in [100, 101, 102] {
        answers.push(fixture.link.request(place(price), 42).await.unwrap());
    }
    for (answer, price) in answers.iter().zip([100, 101, 102]) {
        assert_eq!(answer.last().unwrap().head.kind, EventKind::Done as u8);
        let update: OrderUpdate = answer
            .iter()
            .find(|e| e.head.kind == EventKind::OrderUpdate as u8)
            .unwrap()
            .body();
        assert_eq!(update.price, price, "each request gets its own answer");
    }
    let published = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.event.head.kind, EventKind::BookDelta as u8);
    let owner_update = loop {
        let p = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .unwrap()
            .unwrap();
        if p.event.head.kind == EventKind::OrderUpdate as u8 {
            break p;
        }
    };
    assert_eq!(owner_update.owner, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_published_before_its_answer_is_released() {
    // What /fills and the private streams show must already include an order once its
    // response is back: the publication may not trail the answer.
    let fixture = Fixture::new("published-first", None);
    let mut events = fixture.link.events.subscribe();
    for price in 200..300 {
        fixture.link.request(place(price), 9).await.unwrap();
        let mut kinds = Vec::new();
        while let Ok(published) = events.try_recv() {
            kinds.push(published.event.head.kind);
        }
        assert_eq!(
            kinds,
            [
                EventKind::BookDelta,
                EventKind::OrderUpdate,
                EventKind::Done
            ]
            .map(|k| k as u8),
            "order at {price}: its events were published when its answer arrived"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_answer() {
    let fixture = Fixture::new("concurrent", None);
    let mut tasks = Vec::new();
    for i in 0..50i64 {
        let link = fixture.link.clone();
        tasks.push(tokio::spawn(async move {
            (i, link.request(place(1000 + i), 7).await.unwrap())
        }));
    }
    for task in tasks {
        let (i, events) = task.await.unwrap();
        let update: OrderUpdate = events
            .iter()
            .find(|e| e.head.kind == EventKind::OrderUpdate as u8)
            .unwrap()
            .body();
        assert_eq!(update.price, 1000 + i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_engine_is_refused_at_once() {
    let mut fixture = Fixture::new("stopped", None);
    fixture.link.request(place(100), 1).await.unwrap();
    fixture.stop_engine();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let started = Instant::now();
    let error = fixture.link.request(place(100), 1).await.unwrap_err();
    assert_eq!(
        (error.status.as_u16(), error.code),
        (503, "ENGINE_UNAVAILABLE")
    );
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "answered at once, not after the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_when_the_engine_stops_fails_before_its_time_bound() {
    let mut fixture = Fixture::new("in-flight", None);
    fixture.link.request(place(100), 1).await.unwrap();
    fixture.stop_engine();
    // The heartbeat is still fresh, so the command enters the ring and waits for an answer
    // that will never come.
    let link = fixture.link.clone();
    let started = Instant::now();
    let request = tokio::spawn(async move { link.request(place(101), 1).await });
    while !request.is_finished() && started.elapsed() < Duration::from_secs(3) {
        fixture.link.heartbeat();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = request.await.unwrap().unwrap_err();
    assert_eq!(
        (error.status.as_u16(), error.code),
        (503, "ENGINE_UNAVAILABLE"),
        "{}",
        error.message
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "failed when the engine's heartbeat went stale ({:?}), not at the 1.5 s time bound",
        started.elapsed()
    );
}

struct Manual(Arc<AtomicU64>);

impl DurableSource for Manual {
    fn durable(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn idle_until(&mut self, _sequence: u64) {
        // Set by hand, with no doorbell: look again shortly.
        std::thread::sleep(Duration::from_micros(100));
    }

    fn reset_idle(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_durability_holds_the_answer_until_durable_then_times_out_bounded() {
    let durable = Arc::new(AtomicU64::new(0));
    let fixture = Fixture::new("durable", Some(Box::new(Manual(durable.clone()))));
    let link = fixture.link.clone();
    let pending = tokio::spawn(async move { link.request(place(100), 3).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !pending.is_finished(),
        "not released before the journal says durable"
    );
    durable.store(1, Ordering::Release);
    let events = tokio::time::timeout(Duration::from_secs(2), pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(events.last().unwrap().head.sequence, 1);
    let started = Instant::now();
    let error = fixture.link.request(place(101), 3).await.unwrap_err();
    assert_eq!((error.status.as_u16(), error.code), (503, "TIMEOUT"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

//! The engine process's loop, end to end in one test process: an edge-side producer writes
//! commands into its input ring, the loop journals and applies them, the answers come back on
//! the output ring, and a restart recovers the same state from the journal.
#![allow(clippy::too_many_lines)] // Tests opt out: an end-to-end scenario reads as one story.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinwheel_engine::config::EngineConfig;
use pinwheel_engine::hot_loop::{run, HotLoopConfig};
use pinwheel_engine::message::*;
use pinwheel_engine::recovery::recover;
use pinwheel_journal::{Durability, DurableCursor};
use pinwheel_ring::{output_path, BroadcastReader, InputProducer, WaitStrategy};

struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    fn start(config: &HotLoopConfig) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (config, flag) = (config.clone(), Arc::clone(&stop));
        let thread = std::thread::spawn(move || run(&config, &small_engine(), &flag));
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap().unwrap();
    }
}

/// Bound on the engine's start-up (recovery, rings, journal) on a loaded two-core machine.
const ATTACH: Duration = Duration::from_secs(60);

/// Small pools: start-up allocates every pool, and the tests need few orders.
fn small_engine() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.capacity.orders = 4096;
    config.capacity.users = 64;
    config.capacity.api_keys = 64;
    config.capacity.price_levels = 1024;
    config
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pinwheel-hot-loop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &Path) -> HotLoopConfig {
    let mut config = HotLoopConfig::new(dir.join("run"), dir.join("data"));
    config.wait = WaitStrategy::Backoff;
    config.durability = Durability::Sync;
    config.segment_size = 1 << 20;
    config
}

/// Attaches as an edge would: an input ring of its own, and the output ring from its end.
fn connect(config: &HotLoopConfig) -> (InputProducer, BroadcastReader) {
    let producer = InputProducer::attach(&config.run_dir, ATTACH).unwrap();
    let mut reader =
        BroadcastReader::attach_waiting(&output_path(&config.run_dir), 0, ATTACH).unwrap();
    reader.skip_to_latest();
    (producer, reader)
}

/// Sends one command and collects its events up to and including `Done` (bounded wait).
fn call(
    producer: &mut InputProducer,
    reader: &mut BroadcastReader,
    request_id: u64,
    mut command: Command,
) -> Vec<Event> {
    command.head.request_id = request_id;
    let deadline = Instant::now() + Duration::from_secs(10);
    while producer.try_push(command.as_bytes()).is_err() {
        assert!(Instant::now() < deadline, "input ring stayed full");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut events = Vec::new();
    let mut buffer = [0u8; RECORD_SIZE];
    loop {
        assert!(
            Instant::now() < deadline,
            "no Done for request {request_id}"
        );
        match reader.try_next(&mut buffer) {
            Ok(Some(_)) => {
                let event = Event::from_bytes(&buffer);
                if event.head.edge_id == producer.edge_id() && event.head.request_id == request_id {
                    events.push(event);
                    if event.head.kind == EventKind::Done as u8 {
                        return events;
                    }
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_micros(200)),
            Err(lapped) => panic!("reader lapped: {lapped:?}"),
        }
    }
}

fn create_user(name: &str) -> Command {
    Command::from_user(
        CommandKind::CreateUser,
        0,
        &CreateUser::named(name).unwrap(),
    )
}

fn deposit(user: u64, asset: u32, amount: i64) -> Command {
    Command::from_user(CommandKind::Deposit, user, &Transfer::of(asset, amount))
}

fn limit(user: u64, side: Side, price: i64, quantity: i64) -> Command {
    let body = PlaceOrder::limit(0, side, TimeInForce::Gtc, price, quantity);
    Command::from_user(CommandKind::PlaceOrder, user, &body)
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events
        .iter()
        .map(|e| EventKind::from_u8(e.head.kind).unwrap())
        .collect()
}

#[test]
fn commands_are_journaled_applied_answered_and_recovered() {
    let dir = temp_dir("round-trip");
    let config = config(&dir);
    let engine = Running::start(&config);
    let (mut producer, mut reader) = connect(&config);

    let alice = call(&mut producer, &mut reader, 1, create_user("alice"));
    let alice_id = alice[0].body::<UserCreated>().user_id;
    let bob_id = call(&mut producer, &mut reader, 2, create_user("bob"))[0]
        .body::<UserCreated>()
        .user_id;
    call(
        &mut producer,
        &mut reader,
        3,
        deposit(alice_id, 0, 1_000_000_000),
    );
    call(
        &mut producer,
        &mut reader,
        4,
        deposit(bob_id, 1, 100_000_000),
    );
    let resting = call(
        &mut producer,
        &mut reader,
        5,
        limit(alice_id, Side::Buy, 100, 50),
    );
    assert!(
        kinds(&resting).contains(&EventKind::OrderUpdate),
        "{:?}",
        kinds(&resting)
    );
    let crossing = call(
        &mut producer,
        &mut reader,
        6,
        limit(bob_id, Side::Sell, 100, 20),
    );
    assert!(
        kinds(&crossing).contains(&EventKind::Trade),
        "{:?}",
        kinds(&crossing)
    );
    let done_sequence = crossing.last().unwrap().head.sequence;

    // Sync durability: the answer's sequence becomes durable within a bounded time.
    let durable = DurableCursor::open(&config.run_dir).unwrap();
    assert!(
        durable.wait_for(done_sequence, Duration::from_secs(10)),
        "sequence {done_sequence} never durable"
    );
    drop(producer);
    engine.stop();

    let live = recover(&config.data_dir, &small_engine(), None).unwrap();
    assert_eq!(live.engine.last_sequence(), done_sequence);
    live.engine.check_invariants().unwrap();

    // A restarted engine continues the sequence where the journal ends.
    let engine = Running::start(&config);
    let (mut producer, mut reader) = connect(&config);
    let after = call(&mut producer, &mut reader, 7, deposit(alice_id, 0, 5));
    assert_eq!(after.last().unwrap().head.sequence, done_sequence + 1);
    // The last journaled command is a rejected one: the next start must stamp past it.
    let mut withdraw = deposit(alice_id, 0, i64::MAX / 2);
    withdraw.head.kind = CommandKind::Withdraw as u8;
    let rejected = call(&mut producer, &mut reader, 8, withdraw);
    assert_eq!(kinds(&rejected), vec![EventKind::Rejected, EventKind::Done]);
    drop(producer);
    engine.stop();

    let engine = Running::start(&config);
    let (mut producer, mut reader) = connect(&config);
    let last = call(&mut producer, &mut reader, 9, deposit(alice_id, 0, 5));
    assert_eq!(last.last().unwrap().head.sequence, done_sequence + 3);
    drop(producer);
    engine.stop();
    let again = recover(&config.data_dir, &small_engine(), None).unwrap();
    assert_eq!(again.report.last_sequence, done_sequence + 3);
    again.engine.check_invariants().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn queries_are_answered_but_not_journaled() {
    let dir = temp_dir("queries");
    let config = config(&dir);
    let engine = Running::start(&config);
    let (mut producer, mut reader) = connect(&config);
    call(&mut producer, &mut reader, 1, create_user("carol"));
    let lookup = Command::new(
        CommandKind::QueryUser as u8,
        &UserLookup {
            username: text_field("carol").unwrap(),
        },
    );
    let answer = call(&mut producer, &mut reader, 2, lookup);
    assert_eq!(kinds(&answer), vec![EventKind::UserInfo, EventKind::Done]);
    drop(producer);
    engine.stop();
    let recovered = recover(&config.data_dir, &small_engine(), None).unwrap();
    assert_eq!(
        recovered.report.replayed, 1,
        "only the CreateUser is journaled"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

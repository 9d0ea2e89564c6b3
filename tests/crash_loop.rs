//! Crash loops against the real binary: an acknowledged command is never lost, whatever
//! process dies.
//!
//! The engine runs as its own process with sync durability. A client (this test) sends orders,
//! cancels and queries and counts an answer as acknowledged only when its sequence is durable,
//! as an edge in sync durability does before it answers. The engine (or the snapshot follower)
//! is killed with SIGKILL at seeded random moments and restarted. After each restart:
//! - every acknowledged command is in the journal at the sequence it was acknowledged with,
//!   with the same body, and no command is in the journal twice;
//! - the restarted engine answers with exactly the open orders and balances the acknowledged
//!   answers left (plus the effect of the one command in flight at the kill, if it was journaled);
//! - per asset, available + locked of the test users plus the fees of the fills equals the deposits.
//!
//! At the end the live state hash (logged by the engine on SIGTERM) equals a full replay's hash
//! and recovery from the newest snapshot, and `journal verify` passes.
//! `PINWHEEL_CRASH_ROUNDS=300` runs hundreds of rounds; `PINWHEEL_SEED` repeats a run.
#![allow(clippy::too_many_lines)] // Tests opt out: each scenario reads as one story: start, kill, restart, check.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{crash_rounds, log_field, offline_hash_checks, Api, Proc, Rng, TestDirs};
use pinwheel_engine::config::{Capacity, EngineConfig, MarketTable};
use pinwheel_engine::message::*;
use pinwheel_engine::recovery::{journal_dir, replay_into, DiscardEvents};
use pinwheel_engine::Engine;
use pinwheel_journal::{DurableCursor, JournalReader};
use pinwheel_ring::{output_path, BroadcastReader, InputProducer};

/// The engine configuration `common::small_exchange("", "")` gives, for replaying in this process.
fn engine_config() -> EngineConfig {
    EngineConfig {
        capacity: Capacity {
            orders: 65536,
            users: 256,
            price_levels: 4096,
            api_keys: 64,
            depth_levels: 100,
        },
        ..EngineConfig::default()
    }
}

const BTC_USD: u32 = 0;
const USD: u32 = 0;
const BTC: u32 = 1;
/// Longest wait for one answer or one durable sequence while the engine lives.
const ANSWER_LIMIT: Duration = Duration::from_secs(20);
const START_LIMIT: Duration = Duration::from_secs(60);

/// What acknowledged answers say the state is.
#[derive(Default)]
struct Model {
    /// Open orders: id -> (user, price, quantity, executed).
    open: BTreeMap<u64, (u64, i64, i64, i64)>,
    /// Last balance seen per (user, asset): (available, locked).
    balances: BTreeMap<(u64, u32), (i64, i64)>,
    /// Fees charged per asset.
    fees: BTreeMap<u32, i64>,
    /// Deposits per asset.
    deposits: BTreeMap<u32, i64>,
    /// Fills seen (each trade gives two: maker and taker).
    fills: u64,
}

impl Model {
    /// Takes in the events of one applied command.
    fn fold(&mut self, command: &Command, events: &[Event]) {
        let kind = CommandKind::from_u8(command.head.kind).unwrap();
        let rejected = events
            .last()
            .is_some_and(|done| done.body::<Done>().rejected != 0);
        if kind == CommandKind::Deposit && !rejected {
            let body = command.body::<Transfer>();
            *self.deposits.entry(body.asset).or_default() += body.amount;
        }
        for event in events {
            if event.head.flags & FLAG_QUERY_ANSWER != 0 {
                continue;
            }
            match EventKind::from_u8(event.head.kind) {
                Some(EventKind::OrderUpdate) => {
                    let order = event.body::<OrderUpdate>();
                    let open = [OrderStatus::New as u8, OrderStatus::PartiallyFilled as u8];
                    if open.contains(&order.status) {
                        let fields = (
                            event.head.user_id,
                            order.price,
                            order.quantity,
                            order.executed_quantity,
                        );
                        self.open.insert(order.order_id, fields);
                    } else {
                        self.open.remove(&order.order_id);
                    }
                }
                Some(EventKind::Fill) => {
                    let fill = event.body::<Fill>();
                    *self.fees.entry(fill.fee_asset).or_default() += fill.fee;
                    self.fills += 1;
                }
                Some(EventKind::Balance) => {
                    let balance = event.body::<Balance>();
                    self.balances.insert(
                        (event.head.user_id, balance.asset),
                        (balance.available, balance.locked),
                    );
                }
                _ => {}
            }
        }
    }

    fn open_orders_of(&self, user: u64) -> BTreeMap<u64, (u64, i64, i64, i64)> {
        self.open
            .iter()
            .filter(|(_, order)| order.0 == user)
            .map(|(id, order)| (*id, *order))
            .collect()
    }
}

/// A request sent in a window, with the events seen for it so far.
struct Request {
    request_id: u64,
    command: Command,
    events: Vec<Event>,
}

impl Request {
    fn done_sequence(&self) -> Option<u64> {
        let last = self.events.last()?;
        (last.head.kind == EventKind::Done as u8).then_some(last.head.sequence)
    }
}

/// The test's side of an edge: its own input ring, a reader of the output ring, the durable cursor.
struct RingClient {
    producer: Arc<Mutex<InputProducer>>,
    edge_id: u16,
    /// Beats the producer's heartbeat every 100 ms, so the engine never takes this test for a
    /// dead edge while it checks the journal or waits for a restart.
    heartbeat: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    reader: BroadcastReader,
    durable: DurableCursor,
    next_request: u64,
    /// Events of requests not being waited for (late answers after an engine restart).
    stray: HashMap<u64, Vec<Event>>,
}

impl RingClient {
    fn attach(run_dir: &Path) -> RingClient {
        let producer = InputProducer::attach(run_dir, START_LIMIT).unwrap();
        let edge_id = producer.edge_id();
        let producer = Arc::new(Mutex::new(producer));
        let stop = Arc::new(AtomicBool::new(false));
        let beating = (Arc::clone(&producer), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !beating.1.load(Ordering::Relaxed) {
                beating.0.lock().unwrap().heartbeat();
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let mut reader =
            BroadcastReader::attach_waiting(&output_path(run_dir), 0, START_LIMIT).unwrap();
        reader.skip_to_latest();
        RingClient {
            producer,
            edge_id,
            heartbeat: Some((stop, thread)),
            reader,
            durable: DurableCursor::open(run_dir).unwrap(),
            next_request: 1,
            stray: HashMap::new(),
        }
    }

    /// Sends `commands` at once (several in flight, as under load) and waits for their answers.
    /// Returns the acknowledged requests (answered, and durable) and those still in flight when
    /// the engine died (empty if it lives).
    fn send_window(
        &mut self,
        engine: &mut Proc,
        commands: &[Command],
    ) -> (Vec<Request>, Vec<Request>) {
        let deadline = Instant::now() + ANSWER_LIMIT;
        let mut window = Vec::with_capacity(commands.len());
        for command in commands {
            let mut command = *command;
            command.head.request_id = self.next_request;
            self.next_request += 1;
            while self
                .producer
                .lock()
                .unwrap()
                .try_push(command.as_bytes())
                .is_err()
            {
                assert!(
                    self.producer.lock().unwrap().is_attached(),
                    "the engine reclaimed our ring"
                );
                assert!(Instant::now() < deadline, "the input ring stayed full");
                std::thread::sleep(Duration::from_millis(1));
            }
            window.push(Request {
                request_id: command.head.request_id,
                command,
                events: Vec::new(),
            });
        }
        let alive = self.read_answers(engine, &mut window, deadline)
            && self.await_durable(engine, &window, deadline);
        let durable = self.durable.get();
        let acked = window
            .iter()
            .take_while(|request| {
                request
                    .done_sequence()
                    .is_some_and(|sequence| sequence <= durable)
            })
            .count();
        let in_flight = window.split_off(acked);
        assert!(alive || engine.try_status().is_some());
        assert!(
            !alive || in_flight.is_empty(),
            "a live engine left requests unanswered"
        );
        (window, in_flight)
    }

    /// Reads events until every request has its `Done`; false if the engine died first.
    fn read_answers(
        &mut self,
        engine: &mut Proc,
        window: &mut [Request],
        deadline: Instant,
    ) -> bool {
        let first = window[0].request_id;
        let mut buffer = [0u8; RECORD_SIZE];
        let answered = || format!("a live engine did not answer within {ANSWER_LIMIT:?}");
        while_alive(engine, deadline, answered, || {
            if window.last().unwrap().done_sequence().is_some() {
                return Wait::Done;
            }
            if self
                .reader
                .try_next(&mut buffer)
                .expect("output ring lapped")
                .is_none()
            {
                return Wait::Idle;
            }
            let event = Event::from_bytes(&buffer);
            if event.head.edge_id == self.edge_id && event.head.request_id != 0 {
                match window.get_mut((event.head.request_id.wrapping_sub(first)) as usize) {
                    Some(request) => request.events.push(event),
                    None => self
                        .stray
                        .entry(event.head.request_id)
                        .or_default()
                        .push(event),
                }
            }
            Wait::Moved
        })
    }

    /// Waits until the last answer's sequence is durable; false if the engine died first.
    fn await_durable(&mut self, engine: &mut Proc, window: &[Request], deadline: Instant) -> bool {
        let sequence = window.last().unwrap().done_sequence().unwrap();
        let never = || format!("sequence {sequence} never became durable in a live engine");
        while_alive(engine, deadline, never, || {
            if self.durable.get() >= sequence {
                Wait::Done
            } else {
                Wait::Idle
            }
        })
    }

    /// One command that must be acknowledged (the engine is not being killed).
    fn call_acked(&mut self, engine: &mut Proc, command: Command) -> Request {
        let (mut acked, in_flight) = self.send_window(engine, &[command]);
        assert!(
            in_flight.is_empty(),
            "the engine died unexpectedly:\n{}",
            engine.stderr()
        );
        acked.pop().unwrap()
    }

    /// Waits (bounded) until `sequence` is durable; false if it is not within the limit.
    fn wait_durable(&self, sequence: u64) -> bool {
        self.durable.wait_for(sequence, ANSWER_LIMIT)
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
    transfer(CommandKind::Deposit, user, asset, amount)
}

fn transfer(kind: CommandKind, user: u64, asset: u32, amount: i64) -> Command {
    Command::from_user(kind, user, &Transfer::of(asset, amount))
}

/// What one look at a condition found.
enum Wait {
    /// The condition holds.
    Done,
    /// Not yet, but something arrived: look again at once.
    Moved,
    /// Nothing new: back off before looking again.
    Idle,
}

/// Looks at `step` until it is done, backing off from 50 us to 2 ms while idle; false if the
/// engine died first. A live engine that takes past `deadline` fails the test with `what`.
fn while_alive(
    engine: &mut Proc,
    deadline: Instant,
    what: impl Fn() -> String,
    mut step: impl FnMut() -> Wait,
) -> bool {
    let mut pause = Duration::from_micros(50);
    loop {
        match step() {
            Wait::Done => return true,
            Wait::Moved => pause = Duration::from_micros(50),
            Wait::Idle => {
                if !engine.running() {
                    return false;
                }
                assert!(Instant::now() < deadline, "{}", what());
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(2));
            }
        }
    }
}

/// A random order or cancel of one of the two users, around a price of 100.00.
fn random_trading_command(rng: &mut Rng, users: [u64; 2], model: &Model) -> Command {
    let user = users[rng.range(0, 1) as usize];
    let open = model.open_orders_of(user);
    if !open.is_empty() && rng.range(0, 99) < 30 {
        let pick = rng.range(0, open.len() as u64 - 1) as usize;
        let order_id = *open.keys().nth(pick).unwrap();
        let body = OrderAddress::by_id(BTC_USD, order_id);
        return Command::from_user(CommandKind::CancelOrder, user, &body);
    }
    let side = if rng.range(0, 1) == 0 {
        Side::Buy
    } else {
        Side::Sell
    };
    let time_in_force = if rng.range(0, 9) == 0 {
        TimeInForce::Ioc
    } else {
        TimeInForce::Gtc
    };
    let price = 10_000 + rng.range(0, 40) as i64 - 20;
    let quantity = rng.range(10, 60) as i64;
    let body = PlaceOrder::limit(BTC_USD, side, time_in_force, price, quantity);
    Command::from_user(CommandKind::PlaceOrder, user, &body)
}

impl Drop for RingClient {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.heartbeat.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
        }
    }
}

/// One acknowledged command: what was sent and the sequence it was acknowledged with.
struct Acked {
    request_id: u64,
    sequence: u64,
    command: Command,
}

/// The engine process of one test, restarted under a new log name each time.
struct EngineProcess<'a> {
    dirs: &'a TestDirs,
    starts: usize,
}

impl<'a> EngineProcess<'a> {
    fn new(dirs: &'a TestDirs) -> Self {
        dirs.write_config(&common::small_exchange("", ""));
        Self { dirs, starts: 0 }
    }

    fn start(&mut self) -> Proc {
        self.starts += 1;
        let mut engine = self
            .dirs
            .spawn(&format!("engine-{}", self.starts), &["engine"]);
        engine.wait_for_log("engine running", START_LIMIT);
        engine
    }

    fn follower(&self, name: &str, snapshot_every: u64) -> Proc {
        let data = self.dirs.data_dir.display().to_string();
        let every = snapshot_every.to_string();
        self.dirs.spawn(
            name,
            &[
                "journal",
                "replay",
                &data,
                "--follow",
                "--snapshot-every",
                &every,
            ],
        )
    }
}

/// SIGKILLs `pid` after `delay`, from another thread (the test keeps sending meanwhile).
fn kill_later(pid: u32, delay: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        common::kill_pid(pid, libc::SIGKILL);
    })
}

/// What the journal holds of this test's ring, read incrementally (complete frames never change),
/// and an engine that replays it, to tell what a journaled but unanswered command did.
struct JournalWatch {
    journal: PathBuf,
    edge_id: u16,
    /// Next sequence to read.
    next: u64,
    /// Request id -> every (sequence, command) journaled for it.
    requests: HashMap<u64, Vec<(u64, Command)>>,
    oracle: Engine,
}

impl JournalWatch {
    fn new(data_dir: &Path, edge_id: u16) -> JournalWatch {
        let config = engine_config();
        JournalWatch {
            journal: journal_dir(data_dir),
            edge_id,
            next: 1,
            requests: HashMap::new(),
            oracle: Engine::new(MarketTable::resolve(&config).unwrap(), &config.capacity),
        }
    }

    /// Reads the frames appended since the last call.
    fn refresh(&mut self) {
        let mut reader = JournalReader::open(&self.journal, self.next).unwrap();
        while let Some(frame) = reader.next().unwrap() {
            assert_eq!(frame.sequence, self.next, "the journal has a gap");
            self.next += 1;
            let command = Command::from_bytes(frame.payload);
            if command.head.edge_id == self.edge_id {
                self.requests
                    .entry(command.head.request_id)
                    .or_default()
                    .push((frame.sequence, command));
            }
        }
    }

    /// The sequence `request_id` was journaled at, if it was.
    fn sequence_of(&self, request_id: u64) -> Option<u64> {
        self.requests.get(&request_id).map(|frames| frames[0].0)
    }

    /// Every acknowledged command is journaled once, at its acknowledged sequence, unchanged;
    /// no command of this test is journaled twice.
    fn check(&mut self, acked: &[Acked]) {
        self.refresh();
        for (request_id, frames) in &self.requests {
            assert_eq!(
                frames.len(),
                1,
                "request {request_id} is in the journal {} times (sequences {:?}): a command was applied twice",
                frames.len(),
                frames.iter().map(|(sequence, _)| *sequence).collect::<Vec<_>>()
            );
        }
        for ack in acked {
            let Some(frames) = self.requests.get(&ack.request_id) else {
                panic!(
                    "acknowledged request {} (sequence {}) is not in the journal",
                    ack.request_id, ack.sequence
                );
            };
            let (sequence, command) = frames[0];
            assert_eq!(sequence, ack.sequence, "request {} moved", ack.request_id);
            assert_eq!(command.head.kind, ack.command.head.kind);
            assert_eq!(command.head.user_id, ack.command.head.user_id);
            assert_eq!(
                command.body, ack.command.body,
                "request {} changed",
                ack.request_id
            );
        }
    }

    /// The events the frame at `sequence` produced, replayed here. Calls must come in
    /// increasing `sequence` order.
    fn replayed_events(&mut self, sequence: u64) -> Vec<Event> {
        let oracle = &mut self.oracle;
        replay_into(
            oracle,
            &self.journal,
            Some(sequence - 1),
            &mut DiscardEvents,
            false,
        )
        .unwrap();
        let mut reader = JournalReader::open(&self.journal, sequence).unwrap();
        let frame = reader.next().unwrap().expect("the frame is there");
        assert_eq!(frame.sequence, sequence);
        let mut events: Vec<Event> = Vec::new();
        oracle.apply(&Command::from_bytes(frame.payload), &mut events);
        events
    }
}

/// The restarted engine answers with the model's open orders and balances; money is conserved.
fn check_state(client: &mut RingClient, engine: &mut Proc, model: &Model, users: [u64; 2]) {
    let mut totals: BTreeMap<u32, i64> = BTreeMap::new();
    for user in users {
        let scope = MarketScope::of(ALL_MARKETS);
        let query = Command::from_user(CommandKind::QueryOpenOrders, user, &scope);
        let answer = client.call_acked(engine, query);
        let answered: BTreeMap<u64, (u64, i64, i64, i64)> = answer
            .events
            .iter()
            .filter(|event| event.head.kind == EventKind::OrderUpdate as u8)
            .map(|event| {
                let order = event.body::<OrderUpdate>();
                let fields = (
                    event.head.user_id,
                    order.price,
                    order.quantity,
                    order.executed_quantity,
                );
                (order.order_id, fields)
            })
            .collect();
        assert_eq!(
            answered,
            model.open_orders_of(user),
            "open orders of user {user} after restart"
        );
        let query = Command::from_user(CommandKind::QueryBalances, user, &MarketScope::default());
        let answer = client.call_acked(engine, query);
        for event in answer
            .events
            .iter()
            .filter(|event| event.head.kind == EventKind::Balance as u8)
        {
            let balance = event.body::<Balance>();
            let expected = model
                .balances
                .get(&(user, balance.asset))
                .copied()
                .unwrap_or((0, 0));
            assert_eq!(
                (balance.available, balance.locked),
                expected,
                "balance of user {user} in asset {} after restart",
                balance.asset
            );
            *totals.entry(balance.asset).or_default() += balance.available + balance.locked;
        }
    }
    for (asset, deposited) in &model.deposits {
        let held = totals.get(asset).copied().unwrap_or(0);
        let fees = model.fees.get(asset).copied().unwrap_or(0);
        assert_eq!(
            held + fees,
            *deposited,
            "asset {asset}: held {held} + fees {fees} != deposited {deposited}"
        );
    }
}

impl Acked {
    fn of(request: &Request) -> Acked {
        Acked {
            request_id: request.request_id,
            sequence: request.done_sequence().expect("answered"),
            command: request.command,
        }
    }
}

/// Settles the commands in flight when the engine died, each one: acknowledged after all (its
/// answer is complete and durable after the restart), journaled but unanswered (its effect is
/// replayed here), or lost (never journaled). Returns (journaled, lost) counts.
fn settle_in_flight(
    client: &mut RingClient,
    engine: &mut Proc,
    watch: &mut JournalWatch,
    in_flight: Vec<Request>,
    model: &mut Model,
    acked: &mut Vec<Acked>,
    user: u64,
) -> (usize, usize) {
    // A barrier: the restarted engine answers every earlier record of our ring before this one.
    client.call_acked(
        engine,
        Command::from_user(CommandKind::QueryBalances, user, &MarketScope::default()),
    );
    watch.refresh();
    let mut settled = Vec::new();
    let mut lost = 0;
    for mut request in in_flight {
        let request_id = request.request_id;
        request
            .events
            .extend(client.stray.remove(&request_id).unwrap_or_default());
        let mut sequences: Vec<u64> = request
            .events
            .iter()
            .map(|event| event.head.sequence)
            .collect();
        sequences.dedup();
        assert!(
            sequences.len() <= 1,
            "request {request_id} was applied more than once (sequences {sequences:?})"
        );
        let frame = watch.sequence_of(request_id);
        if let Some(sequence) = request.done_sequence() {
            assert_eq!(
                frame,
                Some(sequence),
                "request {request_id} was answered but is not in the journal at its sequence"
            );
            assert!(
                client.wait_durable(sequence),
                "sequence {sequence} not durable after restart"
            );
            acked.push(Acked::of(&request));
            settled.push((sequence, request.command, request.events));
        } else if let Some(sequence) = frame {
            settled.push((sequence, request.command, Vec::new()));
        } else {
            lost += 1;
        }
    }
    settled.sort_by_key(|(sequence, _, _)| *sequence);
    let journaled_count = settled.len();
    for (sequence, command, events) in settled {
        let events = if events.is_empty() {
            watch.replayed_events(sequence)
        } else {
            events
        };
        model.fold(&command, &events);
    }
    (journaled_count, lost)
}

/// Sets up two funded users; returns their ids.
/// What each ring crash test starts with: a started engine process, a ring client attached to
/// it, the model of what was acknowledged so far, and two funded users.
struct Trial<'a> {
    rng: Rng,
    processes: EngineProcess<'a>,
    engine: Proc,
    client: RingClient,
    model: Model,
    acked: Vec<Acked>,
    users: [u64; 2],
}

impl<'a> Trial<'a> {
    /// Starts the engine in `dirs`; `test` names the seed's environment variable.
    fn start(dirs: &'a TestDirs, test: &str) -> Self {
        let rng = Rng::from_env(test);
        let mut processes = EngineProcess::new(dirs);
        let mut engine = processes.start();
        let mut client = RingClient::attach(&dirs.run_dir);
        let (mut model, mut acked) = (Model::default(), Vec::new());
        let users = fund_users(&mut client, &mut engine, &mut model, &mut acked);
        Self {
            rng,
            processes,
            engine,
            client,
            model,
            acked,
            users,
        }
    }
}

fn fund_users(
    client: &mut RingClient,
    engine: &mut Proc,
    model: &mut Model,
    acked: &mut Vec<Acked>,
) -> [u64; 2] {
    let mut users = [0; 2];
    for (index, name) in ["alice", "bob"].into_iter().enumerate() {
        let answer = client.call_acked(engine, create_user(name));
        users[index] = answer.events[0].body::<UserCreated>().user_id;
        acked.push(Acked::of(&answer));
    }
    for user in users {
        for (asset, amount) in [(USD, 10_000_000_000), (BTC, 100_000_000)] {
            let answer = client.call_acked(engine, deposit(user, asset, amount));
            model.fold(&answer.command, &answer.events);
            acked.push(Acked::of(&answer));
        }
    }
    users
}

/// Takes in acknowledged answers.
fn take_acked(answers: Vec<Request>, model: &mut Model, acked: &mut Vec<Acked>) {
    for answer in answers {
        model.fold(&answer.command, &answer.events);
        acked.push(Acked::of(&answer));
    }
}

/// A window of 1 to 24 random trading commands.
fn random_window(rng: &mut Rng, users: [u64; 2], model: &Model) -> Vec<Command> {
    let size = rng.range(1, 24);
    (0..size)
        .map(|_| random_trading_command(rng, users, model))
        .collect()
}

/// Sends windows of random trading commands until the engine dies; returns those in flight then.
fn trade_until_killed(
    client: &mut RingClient,
    engine: &mut Proc,
    rng: &mut Rng,
    users: [u64; 2],
    model: &mut Model,
    acked: &mut Vec<Acked>,
) -> Vec<Request> {
    loop {
        let window = random_window(rng, users, model);
        let (answers, in_flight) = client.send_window(engine, &window);
        take_acked(answers, model, acked);
        if !in_flight.is_empty() || !engine.running() {
            return in_flight;
        }
    }
}

/// The engine logs its state hash when it stops; the offline tools must agree with it.
fn stop_and_compare_hashes(dirs: &TestDirs, mut engine: Proc) {
    let status = engine.terminate(Duration::from_secs(30));
    assert!(
        status.success(),
        "engine exit {status}:\n{}",
        engine.stderr()
    );
    let log = engine.stderr();
    let live_hash = log_field(&log, "engine stopped", "state_hash")
        .unwrap_or_else(|| panic!("no `engine stopped` line:\n{log}"));
    let live_last: u64 = log_field(&log, "engine stopped", "last_sequence")
        .unwrap()
        .parse()
        .unwrap();
    let (replayed_hash, replayed_last) = offline_hash_checks(dirs);
    assert_eq!(live_hash, replayed_hash, "live state hash != full replay's");
    assert_eq!(replayed_last, live_last);
}

#[test]
fn engine_killed_at_random_moments_loses_no_acknowledged_command() {
    let rounds = crash_rounds(20);
    let dirs = TestDirs::new("crash-engine");
    let Trial {
        mut rng,
        mut processes,
        mut engine,
        mut client,
        mut model,
        mut acked,
        users,
    } = Trial::start(&dirs, "engine_killed_at_random_moments");
    let mut watch = JournalWatch::new(&dirs.data_dir, client.edge_id);
    let (mut journaled_in_flight, mut lost_in_flight) = (0, 0);
    let started = Instant::now();
    for _ in 0..rounds {
        let delay = Duration::from_millis(rng.range(20, 250));
        let killer = kill_later(engine.pid(), delay);
        let in_flight = trade_until_killed(
            &mut client,
            &mut engine,
            &mut rng,
            users,
            &mut model,
            &mut acked,
        );
        killer.join().unwrap();
        engine.wait_exit(Duration::from_secs(10));
        engine = processes.start();
        let (journaled, lost) = settle_in_flight(
            &mut client,
            &mut engine,
            &mut watch,
            in_flight,
            &mut model,
            &mut acked,
            users[0],
        );
        journaled_in_flight += journaled;
        lost_in_flight += lost;
        watch.check(&acked);
        check_state(&mut client, &mut engine, &model, users);
    }
    eprintln!(
        "{rounds} kills in {:.1} s: {} acknowledged commands, {} fills, in flight at the kill: {journaled_in_flight} journaled, {lost_in_flight} lost",
        started.elapsed().as_secs_f64(),
        acked.len(),
        model.fills
    );
    assert!(model.fills > 0, "the traffic traded");
    // A rejected command is journaled but moves no state: ending on one checks that the
    // offline replay's last sequence counts it as the live engine does.
    let overdraw = transfer(CommandKind::Withdraw, users[0], USD, i64::MAX);
    let answer = client.call_acked(&mut engine, overdraw);
    assert!(
        answer
            .events
            .iter()
            .any(|event| event.head.kind == EventKind::Rejected as u8),
        "withdrawing more than the balance is rejected"
    );
    drop(client);
    stop_and_compare_hashes(&dirs, engine);
}

/// Snapshot files and leftover temporary files in the snapshot folder.
fn snapshot_folder(data_dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut snapshots = Vec::new();
    let mut temporary = Vec::new();
    for entry in std::fs::read_dir(data_dir.join("snapshots")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".snap") {
            snapshots.push(path);
        } else {
            temporary.push(path);
        }
    }
    snapshots.sort();
    (snapshots, temporary)
}

#[test]
fn follower_killed_while_writing_snapshots_leaves_a_valid_journal_and_snapshots() {
    let rounds = crash_rounds(20);
    let dirs = TestDirs::new("crash-follower");
    let Trial {
        mut rng,
        processes,
        mut engine,
        mut client,
        mut model,
        mut acked,
        users,
    } = Trial::start(&dirs, "follower_killed_while_writing_snapshots");
    let started = Instant::now();
    for round in 0..rounds {
        // Snapshots every few commands, so a kill often lands in the middle of writing one.
        let mut follower = processes.follower(&format!("follower-{round}"), 5);
        let kill_at = Instant::now() + Duration::from_millis(rng.range(30, 300));
        while Instant::now() < kill_at {
            let window = random_window(&mut rng, users, &model);
            let (answers, in_flight) = client.send_window(&mut engine, &window);
            assert!(
                in_flight.is_empty(),
                "the engine died:\n{}",
                engine.stderr()
            );
            take_acked(answers, &mut model, &mut acked);
            assert!(follower.running(), "follower died:\n{}", follower.stderr());
        }
        follower.kill();
    }
    let (snapshots, temporary) = snapshot_folder(&dirs.data_dir);
    eprintln!(
        "{rounds} follower kills in {:.1} s: {} commands, {} snapshots, {} temporary files left by kills",
        started.elapsed().as_secs_f64(),
        acked.len(),
        snapshots.len(),
        temporary.len()
    );
    assert!(snapshots.len() >= 2, "the followers wrote snapshots");
    for path in &temporary {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.contains(".snap.tmp-"), "unexpected file {name}");
    }
    // A follower started after all the kills catches up from the newest snapshot and keeps going.
    let mut follower = processes.follower("follower-last", 5);
    for _ in 0..5 {
        let window = random_window(&mut rng, users, &model);
        let (answers, _) = client.send_window(&mut engine, &window);
        take_acked(answers, &mut model, &mut acked);
    }
    follower.wait_for_log("follower caught up", START_LIMIT);
    follower.terminate(Duration::from_secs(30));
    JournalWatch::new(&dirs.data_dir, client.edge_id).check(&acked);
    check_state(&mut client, &mut engine, &model, users);
    drop(client);
    stop_and_compare_hashes(&dirs, engine);
}

// ---------------------------------------------------------------------------------------------
// The same over HTTP: engine + edge processes, a client that counts a 2xx answer as acknowledged.

/// One fee-free market, so that the money check is exact from HTTP answers alone (a taker's
/// answer does not carry its makers' fees; the ring test above checks fees exactly).
const HTTP_MARKET: &str = "
[[engine.markets]]
symbol = \"BTC-USD\"
base = \"BTC\"
quote = \"USD\"
tick_size = \"0.01\"
lot_size = \"0.00001\"
min_quantity = \"0.0001\"
maker_fee_bps = 0
taker_fee_bps = 0
";

/// USD and BTC both have 8 decimals in the default assets.
const DECIMALS: u32 = 8;
const HTTP_DEPOSITS: [(&str, &str); 2] = [("USD", "1000"), ("BTC", "10")];

/// An acknowledged open order, in units of 10^-8.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OpenOrder {
    user: usize,
    buy: bool,
    price: i64,
    quantity: i64,
    executed: i64,
}

/// A request whose answer did not come (the process died): what it could have changed.
enum Unanswered {
    Place {
        buy: bool,
        price: i64,
        client_order_id: String,
        user: usize,
    },
    Cancel {
        order_id: u64,
    },
}

/// What 2xx answers say the open orders are.
#[derive(Default)]
struct HttpModel {
    open: BTreeMap<u64, OpenOrder>,
    acked_orders: u64,
    acked_fills: u64,
}

impl HttpModel {
    /// Takes in a 2xx answer to a place or a cancel.
    fn take_order_answer(&mut self, user: usize, buy: bool, answer: &serde_json::Value) {
        let order_id = common::json_u64(&answer["orderId"]);
        for fill in answer["fills"].as_array().into_iter().flatten() {
            self.acked_fills += 1;
            let maker = common::json_u64(&fill["makerOrderId"]);
            let quantity = common::json_units(&fill["quantity"], DECIMALS);
            if let Some(order) = self.open.get_mut(&maker) {
                order.executed += quantity;
                if order.executed == order.quantity {
                    self.open.remove(&maker);
                }
            }
        }
        let status = answer["status"].as_str().unwrap_or_default();
        if status == "NEW" || status == "PARTIALLY_FILLED" {
            self.acked_orders += 1;
            let order = OpenOrder {
                user,
                buy,
                price: common::json_units(&answer["price"], DECIMALS),
                quantity: common::json_units(&answer["quantity"], DECIMALS),
                executed: common::json_units(&answer["executedQty"], DECIMALS),
            };
            self.open.insert(order_id, order);
        } else {
            self.open.remove(&order_id);
        }
    }

    /// Orders the unanswered request could have filled or cancelled.
    fn possibly_changed(&self, unanswered: &Option<Unanswered>) -> Vec<u64> {
        match unanswered {
            None => Vec::new(),
            Some(Unanswered::Cancel { order_id }) => vec![*order_id],
            Some(Unanswered::Place { buy, price, .. }) => self
                .open
                .iter()
                .filter(|(_, order)| {
                    order.buy != *buy
                        && if *buy {
                            order.price <= *price
                        } else {
                            order.price >= *price
                        }
                })
                .map(|(id, _)| *id)
                .collect(),
        }
    }
}

/// Engine and edge processes of one HTTP test.
struct HttpExchange<'a> {
    dirs: &'a TestDirs,
    port: u16,
    starts: usize,
    engine: Proc,
    edge: Proc,
}

impl<'a> HttpExchange<'a> {
    fn start(dirs: &'a TestDirs) -> Self {
        dirs.write_config(&common::small_exchange("", HTTP_MARKET));
        let port = common::free_port();
        let mut engine = dirs.spawn("engine-1", &["engine"]);
        engine.wait_for_log("engine running", START_LIMIT);
        let edge = dirs.spawn("edge-1", &["edge", "--port", &port.to_string()]);
        let exchange = Self {
            dirs,
            port,
            starts: 1,
            engine,
            edge,
        };
        Api::new(port).wait_healthy(START_LIMIT);
        exchange
    }

    fn restart_engine(&mut self) {
        self.starts += 1;
        self.engine = self
            .dirs
            .spawn(&format!("engine-{}", self.starts), &["engine"]);
        self.engine.wait_for_log("engine running", START_LIMIT);
        Api::new(self.port).wait_healthy(START_LIMIT);
    }

    fn restart_edge(&mut self) {
        self.starts += 1;
        let port = self.port.to_string();
        self.edge = self
            .dirs
            .spawn(&format!("edge-{}", self.starts), &["edge", "--port", &port]);
        Api::new(self.port).wait_healthy(START_LIMIT);
    }
}

/// Places or cancels at random for one of the users; updates the model on a 2xx answer.
/// Returns what the request could have changed if no answer came (`Err`), or `Ok` if answered.
fn http_step(
    rng: &mut Rng,
    users: &[Api; 2],
    model: &mut HttpModel,
    serial: &mut u64,
) -> Result<(), Unanswered> {
    let user = rng.range(0, 1) as usize;
    let own: Vec<u64> = model
        .open
        .iter()
        .filter(|(_, order)| order.user == user)
        .map(|(id, _)| *id)
        .collect();
    if !own.is_empty() && rng.range(0, 99) < 30 {
        let order_id = own[rng.range(0, own.len() as u64 - 1) as usize];
        let reply = users[user].delete(&format!("/api/v1/order/{order_id}"));
        return match reply {
            Ok(reply) if reply.ok() => {
                model.open.remove(&order_id);
                Ok(())
            }
            Ok(reply) if reply.status != 503 => {
                panic!("cancel of acked order {order_id}: {reply:?}")
            }
            _ => Err(Unanswered::Cancel { order_id }),
        };
    }
    *serial += 1;
    let buy = rng.range(0, 1) == 0;
    let cents = 10_000 + rng.range(0, 40) as i64 - 20;
    let price = format!("{}.{:02}", cents / 100, cents % 100);
    let quantity = format!("0.{:05}", rng.range(10, 60));
    let client_order_id = format!("crash-{serial}");
    let body = serde_json::json!({
        "market": "BTC-USD", "side": if buy { "buy" } else { "sell" }, "type": "limit",
        "price": price, "quantity": quantity, "timeInForce": "GTC",
        "clientOrderId": client_order_id,
    });
    match users[user].post("/api/v1/order", body) {
        Ok(reply) if reply.ok() => {
            model.take_order_answer(user, buy, &reply.body);
            Ok(())
        }
        Ok(reply) if reply.status != 503 => panic!("order rejected: {reply:?}"),
        _ => Err(Unanswered::Place {
            buy,
            price: common::json_units(&serde_json::Value::String(price), DECIMALS),
            client_order_id,
            user,
        }),
    }
}

/// After a restart: every acknowledged open order is there as acknowledged (those the one
/// unanswered request could have touched may have moved on), no order exists that no request
/// placed, and the users hold exactly what they deposited.
fn check_http_state(users: &[Api; 2], model: &mut HttpModel, unanswered: Option<Unanswered>) {
    let changeable = model.possibly_changed(&unanswered);
    for (order_id, order) in model.open.clone() {
        let reply = users[order.user]
            .get(&format!("/api/v1/order/{order_id}"))
            .expect("the edge answers");
        let may_change = changeable.contains(&order_id);
        // A closed order stays queryable (with its final status); it has left the book.
        let open = matches!(
            reply.body["status"].as_str(),
            Some("NEW" | "PARTIALLY_FILLED")
        );
        if (reply.status == 404 || !open) && may_change {
            model.open.remove(&order_id);
            continue;
        }
        assert_eq!(
            reply.status, 200,
            "acknowledged order {order_id} after restart: {reply:?}"
        );
        assert!(
            open,
            "acknowledged order {order_id} closed unasked: {reply:?}"
        );
        let executed = common::json_units(&reply.body["executedQty"], DECIMALS);
        if may_change {
            assert!(executed >= order.executed, "order {order_id} lost fills");
            model.open.get_mut(&order_id).unwrap().executed = executed;
        } else {
            assert_eq!(
                executed, order.executed,
                "order {order_id}'s fills after restart"
            );
        }
    }
    let mut held: BTreeMap<String, i64> = BTreeMap::new();
    for (user, api) in users.iter().enumerate() {
        let reply = api
            .get("/api/v1/order/open?market=BTC-USD")
            .expect("the edge answers");
        assert_eq!(reply.status, 200, "{reply:?}");
        for order in reply.body.as_array().unwrap() {
            let order_id = common::json_u64(&order["orderId"]);
            if model.open.contains_key(&order_id) {
                continue;
            }
            // Only the unanswered place may have left an order the model does not know.
            let placed_unanswered = matches!(
                &unanswered,
                Some(Unanswered::Place { client_order_id, user: by, .. })
                    if order["clientOrderId"] == client_order_id.as_str() && *by == user
            );
            assert!(
                placed_unanswered,
                "order {order} was never placed by an answered request"
            );
            let adopted = OpenOrder {
                user,
                buy: order["side"] == "buy",
                price: common::json_units(&order["price"], DECIMALS),
                quantity: common::json_units(&order["quantity"], DECIMALS),
                executed: common::json_units(&order["executedQty"], DECIMALS),
            };
            model.open.insert(order_id, adopted);
        }
        let reply = api.get("/api/v1/balances").expect("the edge answers");
        assert_eq!(reply.status, 200, "{reply:?}");
        for balance in reply.body.as_array().unwrap() {
            let asset = balance["asset"].as_str().unwrap().to_string();
            let amount = common::json_units(&balance["available"], DECIMALS)
                + common::json_units(&balance["locked"], DECIMALS);
            *held.entry(asset).or_default() += amount;
        }
    }
    for (asset, each) in HTTP_DEPOSITS {
        let deposited = 2 * common::json_units(&serde_json::Value::String(each.into()), DECIMALS);
        assert_eq!(
            held.get(asset).copied().unwrap_or(0),
            deposited,
            "{asset} is not conserved"
        );
    }
}

/// After a restart, both users' orders are taken and answered again (first try).
fn place_after_restart(users: &[Api; 2], model: &mut HttpModel, port: u16) {
    for (user, api) in users.iter().enumerate() {
        // The edge's own timeout (5 s) decides here, not this client's.
        let patient = api.on_port(port);
        let body = serde_json::json!({
            "market": "BTC-USD", "side": "buy", "type": "limit",
            "price": "50.00", "quantity": "0.0001", "timeInForce": "GTC",
        });
        let reply = patient
            .post("/api/v1/order", body)
            .expect("the edge answers");
        assert!(reply.ok(), "an order after the restart: {reply:?}");
        model.take_order_answer(user, true, &reply.body);
    }
}

/// Which process the HTTP crash loop kills.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Victim {
    Engine,
    Edge,
}

fn http_crash_loop(victim: Victim, seed_name: &str) {
    let rounds = crash_rounds(20);
    let mut rng = Rng::from_env(seed_name);
    let dirs = TestDirs::new(seed_name);
    let mut exchange = HttpExchange::start(&dirs);
    // An edge holds a request whose engine died until its own 5 s timeout; this client gives up
    // sooner (the request then counts as unanswered), which keeps a round short.
    let client = || Api::with_timeout(exchange.port, Duration::from_secs(2));
    let mut users = [client(), client()];
    for (api, name) in users.iter_mut().zip(["alice", "bob"]) {
        api.signup(name);
        for (asset, amount) in HTTP_DEPOSITS {
            api.on_ramp(asset, amount);
        }
    }
    let mut model = HttpModel::default();
    let mut serial = 0;
    let (mut unanswered_count, started) = (0, Instant::now());
    for _ in 0..rounds {
        let target = match victim {
            Victim::Engine => exchange.engine.pid(),
            Victim::Edge => exchange.edge.pid(),
        };
        let killer = kill_later(target, Duration::from_millis(rng.range(50, 600)));
        let mut unanswered = None;
        let process = |exchange: &mut HttpExchange| match victim {
            Victim::Engine => exchange.engine.running(),
            Victim::Edge => exchange.edge.running(),
        };
        while process(&mut exchange) {
            if let Err(request) = http_step(&mut rng, &users, &mut model, &mut serial) {
                unanswered = Some(request);
                break;
            }
        }
        killer.join().unwrap();
        match victim {
            Victim::Engine => {
                exchange.engine.wait_exit(Duration::from_secs(10));
                exchange.restart_engine();
            }
            Victim::Edge => {
                exchange.edge.wait_exit(Duration::from_secs(10));
                exchange.restart_edge();
            }
        }
        unanswered_count += usize::from(unanswered.is_some());
        check_http_state(&users, &mut model, unanswered);
        place_after_restart(&users, &mut model, exchange.port);
    }
    eprintln!(
        "{rounds} kills in {:.1} s: {} acknowledged resting orders, {} acknowledged fills, {unanswered_count} requests unanswered at a kill",
        started.elapsed().as_secs_f64(),
        model.acked_orders,
        model.acked_fills
    );
    assert!(model.acked_fills > 0, "the traffic traded");
    let HttpExchange {
        mut edge, engine, ..
    } = exchange;
    edge.terminate(Duration::from_secs(30));
    stop_and_compare_hashes(&dirs, engine);
}

#[test]
fn engine_killed_under_http_traffic_loses_no_acknowledged_order() {
    http_crash_loop(Victim::Engine, "http-engine-kill");
}

#[test]
fn edge_killed_under_http_traffic_loses_no_acknowledged_order() {
    http_crash_loop(Victim::Edge, "http-edge-kill");
}

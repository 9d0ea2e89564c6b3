//! Multi-process tests: this test binary re-runs itself (`current_exe`) as
//! writer and reader child processes, selected by `PINWHEEL_RING_TEST_CHILD`.
//! Counts scale with `PINWHEEL_STRESS=1` (millions of records per writer).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::{output_ring, run_dir, RECORD};
use pinwheel_ring::{
    monotonic_ns, output_path, BroadcastReader, BroadcastWriter, EdgeChange, InputConfig, InputHub,
    InputProducer, Parked, WaitStrategy, Waiter, PARK_TIMEOUT,
};

const WORDS: usize = RECORD / 8;
const CHILD_VAR: &str = "PINWHEEL_RING_TEST_CHILD";
const TEST_DEADLINE: Duration = Duration::from_secs(120);

fn stress() -> bool {
    std::env::var("PINWHEEL_STRESS").is_ok_and(|v| v == "1")
}

fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} unset"))
        .parse()
        .unwrap()
}

/// Payload word `index` of `writer`'s record `sequence`: every word depends on
/// both, so a record mixed from two writes cannot pass the check.
fn payload(writer: u64, sequence: u64, index: usize) -> u64 {
    (writer << 48 ^ sequence)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(index as u32 * 7)
}

fn checksum(words: &[u64]) -> u64 {
    words.iter().fold(0xCBF2_9CE4_8422_2325, |sum, w| {
        (sum ^ w).wrapping_mul(0x1000_0000_01B3)
    })
}

/// Record layout: writer, sequence, payload words, checksum of all before it.
fn encode(writer: u64, sequence: u64, out: &mut [u8; RECORD]) {
    let mut words = [0u64; WORDS];
    words[0] = writer;
    words[1] = sequence;
    for (index, word) in words.iter_mut().enumerate().take(WORDS - 1).skip(2) {
        *word = payload(writer, sequence, index);
    }
    words[WORDS - 1] = checksum(&words[..WORDS - 1]);
    for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
}

/// Checks a record and returns (writer, sequence).
fn decode(bytes: &[u8]) -> (u64, u64) {
    let mut words = [0u64; WORDS];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().unwrap());
    }
    assert_eq!(
        words[WORDS - 1],
        checksum(&words[..WORDS - 1]),
        "torn record: bad checksum"
    );
    for (index, word) in words.iter().enumerate().take(WORDS - 1).skip(2) {
        assert_eq!(
            *word,
            payload(words[0], words[1], index),
            "torn record: bad payload"
        );
    }
    (words[0], words[1])
}

/// Kills and reaps every child still running when a test ends (or panics).
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_child(role: &str, vars: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_VAR, role)
        .stdout(Stdio::piped());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

/// The child side. A no-op in the normal test run; in a child it plays the role named by the env var.
#[test]
fn child_process_entry() {
    match std::env::var(CHILD_VAR).as_deref() {
        Ok("writer") => child_writer(),
        Ok("reader") => child_reader(),
        Ok("parker") => child_parker(),
        Ok("pinger") => child_pinger(),
        Ok(other) => panic!("unknown child role {other}"),
        Err(_) => {}
    }
}

/// Pushes `PINWHEEL_RING_COUNT` records in bursts of 16, storing its progress
/// (records pushed so far) in a shared file after every burst.
fn child_writer() {
    let dir = PathBuf::from(std::env::var("PINWHEEL_RING_DIR").unwrap());
    let writer = env_u64("PINWHEEL_RING_WRITER");
    let count = env_u64("PINWHEEL_RING_COUNT");
    let progress_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(std::env::var("PINWHEEL_RING_PROGRESS").unwrap())
        .unwrap();
    // SAFETY: an 8-byte file shared with the parent, accessed only as one AtomicU64.
    let progress_map = unsafe { memmap2::MmapMut::map_mut(&progress_file) }.unwrap();
    // SAFETY: the mapping is page-aligned, 8 bytes long, and outlives `progress`.
    let progress = unsafe { &*progress_map.as_ptr().cast::<AtomicU64>() };
    let mut producer = InputProducer::attach(&dir, Duration::from_secs(20)).unwrap();
    let mut waiter = Waiter::new(WaitStrategy::Backoff);
    let mut burst = [[0u8; RECORD]; 16];
    let mut sequence = 0;
    let deadline = Instant::now() + TEST_DEADLINE;
    while sequence < count {
        let size = (count - sequence).min(16) as usize;
        for (offset, record) in burst[..size].iter_mut().enumerate() {
            encode(writer, sequence + offset as u64, record);
        }
        let refs: Vec<&[u8]> = burst[..size].iter().map(|r| &r[..]).collect();
        let mut pushed = 0;
        while pushed < size {
            let now = producer.try_push_batch(&refs[pushed..]);
            if now == 0 {
                assert!(Instant::now() < deadline, "writer {writer} stuck");
                waiter.idle();
            } else {
                waiter.reset();
                pushed += now;
                progress.store(sequence + pushed as u64, Ordering::Release);
            }
        }
        sequence += size as u64;
        if sequence % 4096 < 16 {
            producer.heartbeat();
        }
    }
}

/// Attaches to the output ring at sequence 0, says "ready", reads until
/// `PINWHEEL_RING_COUNT`, checking every record, and prints what it got.
fn child_reader() {
    let path = PathBuf::from(std::env::var("PINWHEEL_RING_PATH").unwrap());
    let count = env_u64("PINWHEEL_RING_COUNT");
    let pause_every = env_u64("PINWHEEL_RING_PAUSE_EVERY");
    let mut reader = BroadcastReader::attach_at(&path, 0).unwrap();
    println!("ready");
    let mut waiter = Waiter::new(WaitStrategy::Backoff);
    let mut out = [0u8; RECORD];
    let (mut received, mut lost) = (0u64, 0u64);
    let deadline = Instant::now() + TEST_DEADLINE;
    while reader.position() < count {
        assert!(
            Instant::now() < deadline,
            "reader stuck at {}",
            reader.position()
        );
        match reader.try_next(&mut out) {
            Ok(Some(sequence)) => {
                waiter.reset();
                assert_eq!(
                    decode(&out),
                    (0, sequence),
                    "record and slot sequence disagree"
                );
                received += 1;
                if pause_every > 0 && received % pause_every == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            Ok(None) => waiter.idle(),
            Err(lapped) => {
                assert!(lapped.oldest_available > lapped.expected);
                lost += lapped.oldest_available - lapped.expected;
            }
        }
    }
    println!(
        "received={received} lost={lost} lapped={}",
        reader.lapped_count()
    );
}

/// A writer child and the shared file where it reports its progress.
struct WriterChild {
    child: usize,
    progress: memmap2::MmapMut,
    _file: tempfile::NamedTempFile,
}

impl WriterChild {
    fn pushed(&self) -> u64 {
        // SAFETY: page-aligned 8-byte mapping, only ever accessed as one AtomicU64.
        unsafe { &*self.progress.as_ptr().cast::<AtomicU64>() }.load(Ordering::Acquire)
    }
}

fn spawn_writer(children: &mut Children, dir: &Path, writer: u64, count: u64) -> WriterChild {
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().set_len(8).unwrap();
    // SAFETY: the file is ours and 8 bytes long; shared with the child as one AtomicU64.
    let progress = unsafe { memmap2::MmapMut::map_mut(file.as_file()) }.unwrap();
    let vars = [
        ("PINWHEEL_RING_DIR", dir.display().to_string()),
        ("PINWHEEL_RING_WRITER", writer.to_string()),
        ("PINWHEEL_RING_COUNT", count.to_string()),
        ("PINWHEEL_RING_PROGRESS", file.path().display().to_string()),
    ];
    children.0.push(spawn_child("writer", &vars));
    WriterChild {
        child: children.0.len() - 1,
        progress,
        _file: file,
    }
}

/// The engine's side of the input tests: drains, checks order per writer, maintains.
struct Engine {
    hub: InputHub,
    next: Vec<u64>,
    edge_of: Vec<Option<u16>>,
    changes: Vec<EdgeChange>,
    last_maintain: Instant,
    waiter: Waiter,
}

impl Engine {
    fn new(dir: &Path, writers: usize) -> Self {
        let config = InputConfig {
            max_edges: 8,
            capacity: 4096,
            record_size: RECORD,
            heartbeat_timeout: Duration::from_secs(30),
        };
        Self {
            hub: InputHub::open_or_create(dir, config).unwrap(),
            next: vec![0; writers],
            edge_of: vec![None; writers],
            changes: Vec::new(),
            last_maintain: Instant::now(),
            waiter: Waiter::new(WaitStrategy::Backoff),
        }
    }

    fn poll(&mut self) {
        let (next, edge_of) = (&mut self.next, &mut self.edge_of);
        let read = self.hub.drain(256, |edge, bytes| {
            let (writer, sequence) = decode(bytes);
            let writer = writer as usize;
            assert_eq!(
                sequence, next[writer],
                "writer {writer}: lost, duplicated or reordered"
            );
            assert_eq!(
                *edge_of[writer].get_or_insert(edge),
                edge,
                "writer changed edge"
            );
            next[writer] += 1;
        });
        if read == 0 {
            self.waiter.idle();
        } else {
            self.waiter.reset();
        }
        if self.last_maintain.elapsed() >= Duration::from_millis(1) {
            self.last_maintain = Instant::now();
            let changes = &mut self.changes;
            self.hub.maintain(|change| changes.push(change));
        }
    }

    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + TEST_DEADLINE;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.next
            );
            self.poll();
        }
    }
}

#[test]
fn several_writer_processes_deliver_every_record_once_in_order() {
    let (_guard, dir) = run_dir("pinwheel-ring-proc-");
    let writers = 3;
    let count: u64 = if stress() { 5_000_000 } else { 1_000_000 };
    let mut engine = Engine::new(&dir, writers);
    let mut children = Children(Vec::new());
    let spawned: Vec<WriterChild> = (0..writers as u64)
        .map(|w| spawn_writer(&mut children, &dir, w, count))
        .collect();
    engine.run_until("every record", |e| e.next.iter().all(|&n| n == count));
    engine.run_until("every detach", |e| {
        e.changes
            .iter()
            .filter(|c| matches!(c, EdgeChange::Detached(_)))
            .count()
            == writers
    });
    for writer in &spawned {
        assert!(children.0[writer.child].wait().unwrap().success());
        assert_eq!(writer.pushed(), count);
    }
    assert_eq!(engine.hub.active_edges(), 0);
}

#[test]
fn a_writer_killed_mid_burst_loses_nothing_it_finished_and_its_ring_is_reclaimed() {
    let (_guard, dir) = run_dir("pinwheel-ring-proc-");
    let count: u64 = if stress() { 5_000_000 } else { 500_000 };
    let mut engine = Engine::new(&dir, 3);
    let mut children = Children(Vec::new());
    let victim = spawn_writer(&mut children, &dir, 0, u64::MAX);
    let others: Vec<WriterChild> = (1..3)
        .map(|w| spawn_writer(&mut children, &dir, w, count))
        .collect();
    engine.run_until("the victim to be mid-stream", |e| e.next[0] >= 20_000);
    children.0[victim.child].kill().unwrap(); // SIGKILL
    children.0[victim.child].wait().unwrap();
    let finished = victim.pushed();
    let victim_edge = engine.edge_of[0].unwrap();
    engine.run_until("the victim's ring to be reclaimed", |e| {
        e.changes.contains(&EdgeChange::Reclaimed(victim_edge))
    });
    let delivered = engine.next[0];
    assert!(
        (finished..=finished + 16).contains(&delivered),
        "victim finished {finished} records, {delivered} delivered"
    );
    engine.run_until("the other writers", |e| {
        e.next[1..].iter().all(|&n| n == count)
    });
    for writer in &others {
        assert!(children.0[writer.child].wait().unwrap().success());
    }
    let reuse = InputProducer::attach(&dir, Duration::from_secs(5)).unwrap();
    assert!(reuse.is_attached());
}

fn read_line(child: &mut Child) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    while !line.starts_with("ready") && !line.starts_with("received") {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "child closed its output"
        );
    }
    line
}

fn field(line: &str, name: &str) -> u64 {
    let start = line.find(&format!("{name}=")).unwrap() + name.len() + 1;
    line[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn broadcast_readers_in_other_processes_get_whole_records_and_laps_are_accounted() {
    let (_guard, dir) = run_dir("pinwheel-ring-proc-");
    std::fs::create_dir_all(&dir).unwrap();
    let path = output_path(&dir);
    let count: u64 = if stress() { 10_000_000 } else { 1_000_000 };
    let mut writer = BroadcastWriter::open_or_create(&path, RECORD, 1024).unwrap();
    let mut children = Children(Vec::new());
    for pause_every in [0u64, 100] {
        let vars = [
            ("PINWHEEL_RING_PATH", path.display().to_string()),
            ("PINWHEEL_RING_COUNT", count.to_string()),
            ("PINWHEEL_RING_PAUSE_EVERY", pause_every.to_string()),
        ];
        children.0.push(spawn_child("reader", &vars));
    }
    for child in &mut children.0 {
        assert_eq!(read_line(child).trim(), "ready");
    }
    let mut batch = [[0u8; RECORD]; 8];
    let mut sequence = 0;
    while sequence < count {
        for (offset, slot) in batch.iter_mut().enumerate() {
            encode(0, sequence + offset as u64, slot);
        }
        let left = (count - sequence).min(8) as usize;
        sequence = writer.publish_batch(batch[..left].iter().map(|r| &r[..]));
        if sequence % 64 == 0 {
            std::thread::yield_now(); // let the fast reader keep up on two cores
        }
    }
    let mut lines = Vec::new();
    for child in &mut children.0 {
        lines.push(read_line(child));
        assert!(child.wait().unwrap().success());
    }
    for line in &lines {
        assert_eq!(
            field(line, "received") + field(line, "lost"),
            count,
            "{line}"
        );
    }
    let slow = &lines[1];
    assert!(
        field(slow, "lapped") > 0 && field(slow, "lost") > 0,
        "the slow reader was never lapped: {slow}"
    );
}

/// Rounds of the park/wake tests: each one parks, is rung, and measures its wake-up.
const PARK_ROUNDS: u64 = 20;
/// A woken reader must see its record well before its park would have timed out.
const WAKE_BOUND: Duration = Duration::from_millis(25);

/// A record carrying its publication time (CLOCK_MONOTONIC, the same in every process).
fn timed_record() -> [u8; RECORD] {
    let mut record = [0u8; RECORD];
    record[..8].copy_from_slice(&monotonic_ns().to_le_bytes());
    record
}

fn age_of(record: &[u8]) -> Duration {
    let sent = u64::from_le_bytes(record[..8].try_into().unwrap());
    Duration::from_nanos(monotonic_ns().saturating_sub(sent))
}

/// Reads `PINWHEEL_RING_COUNT` timed records with the `park` strategy and reports the
/// slowest wake-up and how many parks a ring ended.
fn child_parker() {
    let path = PathBuf::from(std::env::var("PINWHEEL_RING_PATH").unwrap());
    let count = env_u64("PINWHEEL_RING_COUNT");
    let mut reader = BroadcastReader::attach_at(&path, 0).unwrap();
    println!("ready");
    let mut waiter = Waiter::new(WaitStrategy::Park);
    let mut out = [0u8; RECORD];
    let (mut slowest, mut rung) = (Duration::ZERO, 0u64);
    let deadline = Instant::now() + TEST_DEADLINE;
    while reader.position() < count {
        assert!(Instant::now() < deadline, "parker stuck");
        match reader.try_next(&mut out).expect("no lap in this test") {
            Some(_) => {
                slowest = slowest.max(age_of(&out));
                waiter.reset();
            }
            None => {
                let parked = waiter.idle_on(reader.doorbell(), || reader.has_next());
                rung += u64::from(parked == Some(Parked::Rung));
            }
        }
    }
    println!(
        "received={count} slowest_us={} rung={rung}",
        slowest.as_micros()
    );
}

/// Pushes `PINWHEEL_RING_COUNT` timed records into an input ring, one every 10 ms, so the
/// engine side is parked when each arrives.
fn child_pinger() {
    let dir = PathBuf::from(std::env::var("PINWHEEL_RING_DIR").unwrap());
    let count = env_u64("PINWHEEL_RING_COUNT");
    let mut producer = InputProducer::attach(&dir, Duration::from_secs(5)).unwrap();
    for _ in 0..count {
        std::thread::sleep(Duration::from_millis(10));
        producer.try_push(&timed_record()).unwrap();
    }
}

/// Waits (bounded) until a reader has said it is parked on `writer`'s ring, then a little
/// longer, so that it is asleep in the kernel.
fn until_parked(writer: &BroadcastWriter) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !writer.readers_parked() {
        assert!(Instant::now() < deadline, "the reader never parked");
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(2));
}

#[test]
fn a_reader_parked_in_another_process_is_woken_within_a_bound_for_every_record() {
    let (_guard, dir) = run_dir("pinwheel-ring-proc-");
    let (path, mut writer) = output_ring(&dir);
    let vars = [
        ("PINWHEEL_RING_PATH", path.display().to_string()),
        ("PINWHEEL_RING_COUNT", PARK_ROUNDS.to_string()),
    ];
    let mut children = Children(vec![spawn_child("parker", &vars)]);
    assert_eq!(read_line(&mut children.0[0]).trim(), "ready");
    for _ in 0..PARK_ROUNDS {
        until_parked(&writer);
        writer.publish(&timed_record());
    }
    let line = read_line(&mut children.0[0]);
    assert!(children.0[0].wait().unwrap().success());
    assert_eq!(field(&line, "received"), PARK_ROUNDS, "{line}");
    let slowest = Duration::from_micros(field(&line, "slowest_us"));
    assert!(slowest < WAKE_BOUND, "a wake-up took {slowest:?}: {line}");
    assert!(
        field(&line, "rung") >= PARK_ROUNDS / 2,
        "parks ended by their timeout, not the writer's ring: {line}"
    );
}

#[test]
fn a_parked_reader_killed_in_its_sleep_costs_the_writer_one_wake_and_never_blocks_it() {
    let (_guard, dir) = run_dir("pinwheel-ring-proc-");
    let (path, mut writer) = output_ring(&dir);
    let vars = [
        ("PINWHEEL_RING_PATH", path.display().to_string()),
        ("PINWHEEL_RING_COUNT", "1".to_string()),
    ];
    let mut children = Children(vec![spawn_child("parker", &vars)]);
    assert_eq!(read_line(&mut children.0[0]).trim(), "ready");
    until_parked(&writer);
    children.0[0].kill().unwrap();
    children.0[0].wait().unwrap();
    assert!(
        writer.readers_parked(),
        "the dead reader's flag is still up"
    );
    let started = Instant::now();
    writer.publish_unrung(&timed_record());
    assert!(
        writer.ring_readers(),
        "one wake for the flag the dead reader left"
    );
    for _ in 0..1000 {
        writer.publish_unrung(&timed_record());
        assert!(!writer.ring_readers(), "no syscall once nobody is parked");
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn an_engine_parked_on_the_control_doorbell_is_woken_by_an_edge_in_another_process() {
    let (_guard, dir) = run_dir("pinwheel-ring-proc-");
    let config = InputConfig {
        max_edges: 2,
        capacity: 64,
        record_size: RECORD,
        heartbeat_timeout: Duration::from_secs(10),
    };
    let mut hub = InputHub::open_or_create(&dir, config).unwrap();
    let vars = [
        ("PINWHEEL_RING_DIR", dir.display().to_string()),
        ("PINWHEEL_RING_COUNT", PARK_ROUNDS.to_string()),
    ];
    let mut children = Children(vec![spawn_child("pinger", &vars)]);
    let mut waiter = Waiter::new(WaitStrategy::Park);
    let (mut received, mut rung, mut slowest) = (0u64, 0u64, Duration::ZERO);
    let deadline = Instant::now() + TEST_DEADLINE;
    while received < PARK_ROUNDS {
        assert!(Instant::now() < deadline, "engine side stuck at {received}");
        let drained = hub.drain(16, |_, record| slowest = slowest.max(age_of(record)));
        received += drained as u64;
        if drained > 0 {
            waiter.reset();
            continue;
        }
        let parked = waiter.idle_on(hub.doorbell(), || hub.has_pending());
        rung += u64::from(parked == Some(Parked::Rung));
        if parked == Some(Parked::TimedOut) {
            hub.maintain(|_| ());
        }
    }
    assert!(children.0[0].wait().unwrap().success());
    assert!(slowest < WAKE_BOUND, "a wake-up took {slowest:?}");
    assert!(rung >= PARK_ROUNDS / 2, "only {rung} parks were rung");
    assert!(PARK_TIMEOUT > WAKE_BOUND);
}

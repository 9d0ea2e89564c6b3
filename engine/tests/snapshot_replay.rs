//! Snapshots against full replays, in one process: a snapshot plus the journal tail after it
//! rebuilds exactly the state (same hash, same last sequence) that replaying every frame from
//! sequence 1 does, whether the snapshot was taken by hand midway or written by the follower
//! while frames were still being appended.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    create_user, deposit, engine_config_small, fresh_engine, random_trading_command, temp_dir, Rng,
};
use pinwheel_engine::follower::{follow, take_snapshot, FollowConfig};
use pinwheel_engine::message::{Command, CommandKind, Event};
use pinwheel_engine::recovery::{journal_dir, recover, replay_into, snapshot_dir, DiscardEvents};
use pinwheel_engine::sequencer::Sequencer;
use pinwheel_engine::{Counters, Engine};
use pinwheel_journal::{
    latest_snapshot, read_snapshot, Durability, DurableCursor, JournalConfig, JournalWriter,
    Retention,
};

const USERS: u64 = 3;
/// Small segments, so every run spans several segment files.
const SEGMENT_SIZE: u64 = 64 * 1024;

/// Users with funds, then `trading` random commands; queries are left out (never journaled).
/// Sequences are numbered 1, 2, 3, ... as the engine's step stamps them.
fn workload(seed: u64, trading: usize) -> Vec<Command> {
    let mut commands = Vec::new();
    for user in 1..=USERS {
        commands.push(create_user(&format!("trader{user}"), 0));
        for (asset, amount) in [(0, 12_000), (1, 4_000), (2, 4_000), (3, 40_000)] {
            commands.push(deposit(user, asset, amount, 0));
        }
    }
    let mut rng = Rng(seed | 1);
    while commands.len() < trading {
        let hint = 2 + commands.len() as u64 / 3;
        let command = random_trading_command(&mut rng, USERS, hint, 0);
        let kind = CommandKind::from_u8(command.head.kind).unwrap();
        if !kind.is_query() {
            commands.push(command);
        }
    }
    for (index, command) in commands.iter_mut().enumerate() {
        command.head.sequence = index as u64 + 1;
    }
    commands
}

/// A fresh engine stepped by the engine's own sequencer (stamp, journal, apply), journaling
/// into `dir/data/journal` in sync durability, `batch` commands per poll.
fn live_engine(dir: &Path, batch: usize) -> Sequencer {
    let mut config = JournalConfig::new(journal_dir(&dir.join("data")), Durability::Sync);
    config.segment_size = SEGMENT_SIZE;
    let durable = DurableCursor::create(&dir.join("run")).unwrap();
    let writer = JournalWriter::open(&config, durable, 1).unwrap();
    Sequencer::new(fresh_engine(), writer, 1, batch)
}

/// Journals and applies `commands` as the hot loop does, events to `sink`.
fn journal_and_apply(live: &mut Sequencer, mut commands: &[Command], sink: &mut Vec<Event>) {
    let counters = Counters::new();
    while live.poll(&mut commands, sink, &counters) > 0 {}
}

/// Replays every frame from sequence 1 into a fresh engine, ignoring snapshots.
fn full_replay(data_dir: &Path, to: Option<u64>) -> Engine {
    let mut engine = fresh_engine();
    let replayed = replay_into(
        &mut engine,
        &journal_dir(data_dir),
        to,
        &mut DiscardEvents,
        false,
    )
    .unwrap();
    assert!(replayed.applied > 0);
    engine.check_invariants().unwrap();
    engine
}

fn segment_count(data_dir: &Path) -> usize {
    pinwheel_journal::list_segments(&journal_dir(data_dir))
        .unwrap()
        .len()
}

#[test]
fn snapshot_plus_tail_gives_the_same_hash_as_a_full_replay() {
    let dir = temp_dir("snapshot-replay", "midway");
    let data_dir = dir.join("data");
    let commands = workload(0x5eed, 3_000);
    let mut writer = live_engine(&dir, 256);
    let midway = commands.len() / 2;
    journal_and_apply(&mut writer, &commands[..midway], &mut Vec::new());
    let snapshot_path = take_snapshot(writer.engine(), &data_dir, Retention::Keep).unwrap();
    let midway_hash = writer.engine().state_hash();
    journal_and_apply(&mut writer, &commands[midway..], &mut Vec::new());
    let live = writer.close().unwrap();
    live.check_invariants().unwrap();
    assert!(segment_count(&data_dir) >= 3, "the journal spans segments");
    assert_ne!(midway_hash, live.state_hash(), "the tail changes the state");

    let snapshot = read_snapshot(&snapshot_path).unwrap();
    assert_eq!(snapshot.state_hash, midway_hash);
    let recovered = recover(&data_dir, &engine_config_small(), None).unwrap();
    let (used, snapshot_sequence) = recovered.report.snapshot.clone().unwrap();
    assert_eq!(used, snapshot_path);
    assert_eq!(snapshot_sequence, snapshot.sequence);
    // Everything after the snapshot came from the journal: rejected frames just after the
    // snapshot's last accepted sequence are applied again (and rejected again).
    assert_eq!(
        recovered.report.replayed,
        commands.len() as u64 - snapshot_sequence
    );
    assert_eq!(recovered.report.last_sequence, commands.len() as u64);

    let full = full_replay(&data_dir, None);
    assert_eq!(full.state_hash(), live.state_hash());
    assert_eq!(recovered.engine.state_hash(), full.state_hash());
    assert_eq!(recovered.engine.last_sequence(), full.last_sequence());
    recovered.engine.check_invariants().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_from_a_partial_replay_with_retention_still_recovers_the_full_state() {
    let dir = temp_dir("snapshot-replay", "retention");
    let data_dir = dir.join("data");
    let commands = workload(0xfeed, 4_000);
    let (live, _) = journal_live(&dir, &commands);
    let full_hash = full_replay(&data_dir, None).state_hash();
    assert_eq!(full_hash, live.state_hash());

    // `journal replay --to` then a snapshot: the follower's way, here at three quarters.
    let partial = full_replay(&data_dir, Some(commands.len() as u64 * 3 / 4));
    let segments_before = segment_count(&data_dir);
    take_snapshot(&partial, &data_dir, Retention::Delete).unwrap();
    let segments_after = segment_count(&data_dir);
    assert!(
        segments_after < segments_before,
        "retention removed covered segments ({segments_before} -> {segments_after})"
    );
    let recovered = recover(&data_dir, &engine_config_small(), None).unwrap();
    assert_eq!(recovered.engine.state_hash(), full_hash);
    assert_eq!(recovered.engine.last_sequence(), live.last_sequence());
    assert_eq!(recovered.report.last_sequence, commands.len() as u64);
    pinwheel_journal::verify(&data_dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The follower in a thread, stopped through its flag (also on panic).
struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<Engine>>>,
}

impl Follower {
    /// Follows `dir/data`, applying what the durable cursor in `dir/run` covers.
    fn start(dir: &Path, snapshot_every: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let config = FollowConfig {
            data_dir: dir.join("data"),
            run_dir: dir.join("run"),
            snapshot_every,
            retention: Retention::Keep,
            idle_sleep: Duration::from_millis(1),
        };
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            follow(&config, &engine_config_small(), &flag).map(|followed| followed.engine)
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Engine {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap().unwrap()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn snapshot_files(data_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(snapshot_dir(data_dir))
        .map(|read| read.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "snap"));
    files.sort();
    files
}

#[test]
fn the_follower_writes_snapshots_while_the_journal_grows_and_each_matches_a_replay() {
    let dir = temp_dir("snapshot-replay", "follower");
    let data_dir = dir.join("data");
    let commands = workload(0xbeef, 3_000);
    let mut writer = live_engine(&dir, 100);
    let follower = Follower::start(&dir, 200);
    for batch in commands.chunks(100) {
        journal_and_apply(&mut writer, batch, &mut Vec::new());
        std::thread::sleep(Duration::from_millis(3));
    }
    // Give the follower a bounded time to write its snapshots of the last batches.
    let deadline = Instant::now() + Duration::from_secs(30);
    let wanted = writer.engine().last_sequence() - 400;
    while latest_snapshot(&snapshot_dir(&data_dir))
        .unwrap()
        .is_none_or(|snapshot| snapshot.sequence < wanted)
    {
        assert!(
            Instant::now() < deadline,
            "the follower never snapshotted past sequence {wanted}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let live = writer.close().unwrap();
    let followed = follower.stop();
    followed.check_invariants().unwrap();

    let snapshots = snapshot_files(&data_dir);
    assert!(
        snapshots.len() >= 5,
        "only {} snapshots for {} commands every 200",
        snapshots.len(),
        commands.len()
    );
    // Each snapshot holds exactly the state a replay from sequence 1 reaches at its sequence.
    for path in &snapshots {
        let snapshot = read_snapshot(path).unwrap();
        let replayed = full_replay(&data_dir, Some(snapshot.sequence));
        assert_eq!(
            replayed.state_hash(),
            snapshot.state_hash,
            "snapshot {}",
            path.display()
        );
    }
    let full = full_replay(&data_dir, None);
    assert_eq!(full.state_hash(), live.state_hash());
    let recovered = recover(&data_dir, &engine_config_small(), None).unwrap();
    assert!(recovered.report.snapshot.is_some());
    assert_eq!(recovered.engine.state_hash(), full.state_hash());
    assert_eq!(recovered.engine.last_sequence(), full.last_sequence());
    // What the follower held when stopped, plus whatever it had not read yet, is the same state.
    let mut caught_up = followed;
    replay_into(
        &mut caught_up,
        &journal_dir(&data_dir),
        None,
        &mut DiscardEvents,
        false,
    )
    .unwrap();
    assert_eq!(caught_up.state_hash(), full.state_hash());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Journals `commands` (sync durability, small segments) and applies them to a live engine
/// that records its events; returns that engine and its events.
fn journal_live(dir: &Path, commands: &[Command]) -> (Engine, Vec<Event>) {
    let mut writer = live_engine(dir, 256);
    let mut events = Vec::new();
    journal_and_apply(&mut writer, commands, &mut events);
    (writer.close().unwrap(), events)
}

#[test]
fn replay_gives_the_live_engines_events_in_order_across_read_ahead_batches() {
    let dir = temp_dir("snapshot-replay", "batches");
    let data_dir = dir.join("data");
    // Several of the read-ahead's 1024-command batches, and a partial one at the end.
    let commands = workload(0xba7c, 5_500);
    let (live, live_events) = journal_live(&dir, &commands);

    let mut replayed = fresh_engine();
    let mut events = Vec::new();
    let report = replay_into(
        &mut replayed,
        &journal_dir(&data_dir),
        None,
        &mut events,
        false,
    )
    .unwrap();
    assert_eq!(report.applied, commands.len() as u64);
    assert_eq!(report.last_sequence, commands.len() as u64);
    assert_eq!(replayed.state_hash(), live.state_hash());
    assert!(
        events == live_events,
        "replay emitted other events than the live engine"
    );

    // Stopping inside a batch applies exactly the prefix.
    let to = 2_500;
    let mut prefix_live = fresh_engine();
    for command in &commands[..to] {
        prefix_live.apply(command, &mut DiscardEvents);
    }
    let prefix = full_replay(&data_dir, Some(to as u64));
    assert_eq!(prefix.state_hash(), prefix_live.state_hash());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn discarding_events_changes_neither_the_state_nor_the_counts() {
    let commands = workload(0xd15c, 2_000);
    let (recording, discarding) = (Counters::new(), Counters::new());
    let (mut kept, mut dropped) = (fresh_engine(), fresh_engine());
    let mut events = Vec::new();
    for command in &commands {
        kept.apply_counted(command, &mut events, &recording);
        dropped.apply_counted(command, &mut DiscardEvents, &discarding);
    }
    assert_eq!(kept.state_hash(), dropped.state_hash());
    assert_eq!(
        recording.events.load(Ordering::Relaxed),
        events.len() as u64
    );
    assert_eq!(
        discarding.events.load(Ordering::Relaxed),
        recording.events.load(Ordering::Relaxed)
    );
    for kind in CommandKind::ALL {
        assert_eq!(
            discarding.command_count(kind as u8),
            recording.command_count(kind as u8)
        );
    }
}

#[test]
fn damage_in_the_middle_stops_a_replay_and_names_the_file() {
    let dir = temp_dir("snapshot-replay", "damage");
    let data_dir = dir.join("data");
    let commands = workload(0xda3a, 3_000);
    journal_live(&dir, &commands);
    let segments = pinwheel_journal::list_segments(&journal_dir(&data_dir)).unwrap();
    assert!(segments.len() >= 3, "the journal spans segments");
    let damaged = &segments[1].path;
    let mut bytes = std::fs::read(damaged).unwrap();
    // A byte inside the second segment's frames (well past its header), with intact frames
    // after it and a whole segment after that.
    let offset = 4096 + 1000;
    bytes[offset] ^= 0x40;
    std::fs::write(damaged, &bytes).unwrap();

    let mut engine = fresh_engine();
    let error = replay_into(
        &mut engine,
        &journal_dir(&data_dir),
        None,
        &mut DiscardEvents,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&damaged.display().to_string()),
        "the error names the damaged segment: {error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// [`workload`] with operator controls woven in: roles granted and revoked, markets halted
/// (so orders are refused for a while) and resumed, deposits and withdrawals for another
/// user, some asked by an admin, some by the operator (user 0), some refused.
fn admin_workload(seed: u64, trading: usize) -> Vec<Command> {
    use pinwheel_engine::message::{MarketScope, Transfer, UserRef};
    let mut commands = workload(seed, trading);
    let (grant, scope) = (UserRef::by_id, MarketScope::of);
    let for_user = |account| Transfer {
        asset: 0,
        amount: 700,
        account,
        ..Default::default()
    };
    let mut at = commands.len() / 5;
    let mut woven = Vec::new();
    for round in 0..4u64 {
        let market = (round % 3) as u32;
        let asker = if round % 2 == 0 { 0 } else { 1 };
        woven.push((
            at,
            common::command(CommandKind::GrantAdmin, 0, 0, &grant(1)),
        ));
        woven.push((
            at,
            common::command(CommandKind::HaltMarket, asker, 0, &scope(market)),
        ));
        woven.push((
            at,
            common::command(CommandKind::Deposit, 1, 0, &for_user(2)),
        ));
        woven.push((
            at,
            common::command(CommandKind::Withdraw, 3, 0, &for_user(2)),
        ));
        at += commands.len() / 10;
        woven.push((
            at,
            common::command(CommandKind::ResumeMarket, asker, 0, &scope(market)),
        ));
        woven.push((
            at,
            common::command(CommandKind::RevokeAdmin, 0, 0, &grant(1)),
        ));
        at += commands.len() / 20;
    }
    for (index, command) in woven.into_iter().rev() {
        commands.insert(index, command);
    }
    for (index, command) in commands.iter_mut().enumerate() {
        command.head.sequence = index as u64 + 1;
    }
    commands
}

#[test]
fn replay_and_snapshots_reproduce_roles_and_halts() {
    let dir = temp_dir("snapshot-replay", "admin");
    let data_dir = dir.join("data");
    let commands = admin_workload(0xad31, 3_000);
    let mut writer = live_engine(&dir, 256);
    let mut events = Vec::new();
    // Midway a market is halted and user 1 is an admin: the snapshot must carry both.
    let midway = commands
        .iter()
        .position(|c| c.head.kind == CommandKind::ResumeMarket as u8)
        .unwrap();
    journal_and_apply(&mut writer, &commands[..midway], &mut events);
    assert!((0..3).any(|market| writer.engine().is_halted(market)));
    assert!(writer.engine().accounts().user(1).admin);
    take_snapshot(writer.engine(), &data_dir, Retention::Keep).unwrap();
    journal_and_apply(&mut writer, &commands[midway..], &mut events);
    let live = writer.close().unwrap();
    let halted_rejects = events
        .iter()
        .filter(|e| e.head.kind == pinwheel_engine::message::EventKind::Rejected as u8)
        .filter(|e| {
            e.body::<pinwheel_engine::message::Reject>().reason
                == pinwheel_engine::message::RejectReason::MarketHalted as u16
        })
        .count();
    assert!(halted_rejects > 0, "orders met a halted market");

    let full = full_replay(&data_dir, None);
    assert_eq!(full.state_hash(), live.state_hash());
    let recovered = recover(&data_dir, &engine_config_small(), None).unwrap();
    assert!(
        recovered.report.snapshot.is_some(),
        "recovery used the snapshot"
    );
    assert_eq!(recovered.engine.state_hash(), live.state_hash());
    let _ = std::fs::remove_dir_all(&dir);
}

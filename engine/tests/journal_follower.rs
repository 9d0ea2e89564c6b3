//! The journal follower's one set of checks, as every user of it meets them: a snapshot whose
//! state hash is not the one it records is refused; a frame that does not hold its own
//! command is an error naming the segment file and the frame's byte offset, and nothing after
//! it is applied.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::{create_user, deposit, engine_config_small, fresh_engine, temp_dir};
use pinwheel_engine::config::MarketTable;
use pinwheel_engine::follower::{follow, FollowConfig};
use pinwheel_engine::journal_follower::{FollowError, FrameProblem, JournalFollower};
use pinwheel_engine::message::{Command, RECORD_SIZE};
use pinwheel_engine::recovery::{journal_dir, recover, replay_into, snapshot_dir, DiscardEvents};
use pinwheel_journal::{
    frame_size, segment_file_name, write_snapshot, Durability, DurableCursor, JournalConfig,
    JournalWriter, Retention, SEGMENT_HEADER_SIZE,
};

/// One user, then `deposits` deposits to it: every command is accepted, so the engine's last
/// sequence counts the commands applied.
fn commands(deposits: u64) -> Vec<Command> {
    let mut commands = vec![create_user("follower", 1)];
    commands.extend((0..deposits).map(|n| deposit(1, 0, 100, n + 2)));
    commands
}

/// Journals `frames` (sequence, payload) under `dir/data` in one segment, sync durability.
fn journal(dir: &Path, frames: &[(u64, Vec<u8>)]) {
    let mut config = JournalConfig::new(journal_dir(&dir.join("data")), Durability::Sync);
    config.segment_size = 1 << 20;
    let durable = DurableCursor::create(&dir.join("run")).unwrap();
    let mut writer = JournalWriter::open(&config, durable, 1).unwrap();
    for (sequence, payload) in frames {
        writer.append(*sequence, *sequence, payload);
    }
    writer.close().unwrap();
}

/// Frames 1..=count holding their commands, except frame `bad`, which holds `payload`.
fn frames_with(count: u64, bad: u64, payload: Vec<u8>) -> Vec<(u64, Vec<u8>)> {
    let commands = commands(count - 1);
    (1..=count)
        .map(|sequence| match sequence == bad {
            true => (sequence, payload.clone()),
            false => (
                sequence,
                commands[sequence as usize - 1].as_bytes().to_vec(),
            ),
        })
        .collect()
}

/// Where frame `sequence` starts in the first segment: every frame is one command long.
fn frame_offset(sequence: u64) -> u64 {
    SEGMENT_HEADER_SIZE as u64 + (sequence - 1) * frame_size(RECORD_SIZE) as u64
}

/// Asserts `error` names frame `sequence` of the first segment, with `problem`.
fn assert_names_frame(error: &FollowError, dir: &Path, sequence: u64, problem: FrameProblem) {
    let segment = journal_dir(&dir.join("data")).join(segment_file_name(1));
    let FollowError::Frame {
        path,
        offset,
        problem: found,
    } = error
    else {
        panic!("not a frame error: {error}");
    };
    assert_eq!(
        (path, *offset, *found),
        (&segment, frame_offset(sequence), problem)
    );
    // The offset is where that frame's header is: its sequence field (bytes 8..16) says so.
    let bytes = std::fs::read(&segment).unwrap();
    let at = *offset as usize + 8;
    assert_eq!(bytes[at..at + 8], sequence.to_le_bytes());
    let text = error.to_string();
    assert!(
        text.contains(&format!("{}:{offset}", segment.display())),
        "{text}"
    );
}

#[test]
fn a_frame_stamped_with_another_sequence_stops_every_reader_at_its_file_and_offset() {
    let dir = temp_dir("journal-follower", "stamped");
    let mut stray = commands(0)[0];
    stray.head.sequence = 99;
    journal(&dir, &frames_with(3_000, 2_100, stray.as_bytes().to_vec()));
    let problem = FrameProblem::Stamped {
        frame: 2_100,
        command: 99,
    };

    // Read-ahead replay (recovery, `journal replay`): the frames before are applied, none after.
    let mut engine = fresh_engine();
    let journal = journal_dir(&dir.join("data"));
    let error = replay_into(&mut engine, &journal, None, &mut DiscardEvents, false).unwrap_err();
    assert_names_frame(&error, &dir, 2_100, problem);
    assert_eq!(engine.last_sequence(), 2_099);
    let error = recover(&dir.join("data"), &engine_config_small(), None)
        .err()
        .expect("recovery stops at the frame");
    assert!(error.to_string().contains("journal frame 2100"), "{error}");

    // One frame at a time (the feed's catch-up, the edge's history).
    let table = MarketTable::resolve(&engine_config_small()).unwrap();
    let mut follower =
        JournalFollower::start(&dir.join("data"), table, &common::capacity(), None).unwrap();
    for sequence in 1..2_100 {
        let applied = follower.apply_next(u64::MAX, &mut DiscardEvents).unwrap();
        assert_eq!(applied, Some(sequence));
    }
    let error = follower
        .apply_next(u64::MAX, &mut DiscardEvents)
        .unwrap_err();
    assert_names_frame(&error, &dir, 2_100, problem);
    assert_eq!(follower.last_sequence(), 2_099);
    assert_eq!(follower.engine().last_sequence(), 2_099);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_frame_that_is_not_a_command_is_an_error_naming_its_file_and_offset() {
    let dir = temp_dir("journal-follower", "short");
    journal(&dir, &frames_with(10, 4, vec![7; RECORD_SIZE - 8]));
    let mut engine = fresh_engine();
    let journal = journal_dir(&dir.join("data"));
    let error = replay_into(&mut engine, &journal, None, &mut DiscardEvents, false).unwrap_err();
    let problem = FrameProblem::NotACommand {
        frame: 4,
        len: RECORD_SIZE - 8,
    };
    let FollowError::Frame { path, offset, .. } = &error else {
        panic!("not a frame error: {error}");
    };
    assert_eq!(path, &journal.join(segment_file_name(1)));
    assert_eq!(*offset, frame_offset(4));
    assert!(matches!(error, FollowError::Frame { problem: p, .. } if p == problem));
    assert_eq!(engine.last_sequence(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journal of 50 good frames and a snapshot at 30 whose header records `recorded` as the
/// state hash (the body is the engine's real state at 30).
fn journal_and_snapshot(dir: &Path, recorded: impl FnOnce(u64) -> u64) -> PathBuf {
    let commands = commands(49);
    let frames: Vec<(u64, Vec<u8>)> = commands
        .iter()
        .map(|c| (c.head.sequence, c.as_bytes().to_vec()))
        .collect();
    journal(dir, &frames);
    let mut engine = fresh_engine();
    for command in &commands[..30] {
        engine.apply(command, &mut DiscardEvents);
    }
    let mut body = Vec::new();
    engine.write_snapshot(&mut body).unwrap();
    let snapshots = snapshot_dir(&dir.join("data"));
    write_snapshot(&snapshots, 30, recorded(engine.state_hash()), &body).unwrap()
}

#[test]
fn a_snapshot_with_a_bad_state_hash_is_refused_by_every_user_of_the_follower() {
    let dir = temp_dir("journal-follower", "bad-hash");
    let data_dir = dir.join("data");
    let snapshot = journal_and_snapshot(&dir, |hash| hash ^ 1);
    let named = |error: &dyn std::fmt::Display| {
        let text = error.to_string();
        assert!(text.contains(&snapshot.display().to_string()), "{text}");
        assert!(text.contains("state hash"), "{text}");
    };
    let table = MarketTable::resolve(&engine_config_small()).unwrap();
    let capacity = common::capacity();
    let started = JournalFollower::start(&data_dir, table.clone(), &capacity, Some(u64::MAX));
    let error = started.err().expect("the snapshot was refused");
    assert!(matches!(&error, FollowError::Snapshot { path, .. } if path == &snapshot));
    named(&error);
    let recovered = recover(&data_dir, &engine_config_small(), None);
    named(&recovered.err().expect("recovery refused the snapshot"));
    let config = FollowConfig {
        data_dir: data_dir.clone(),
        run_dir: dir.join("run"),
        snapshot_every: 0,
        retention: Retention::Keep,
        idle_sleep: Duration::from_millis(1),
    };
    let followed = follow(&config, &engine_config_small(), &AtomicBool::new(true));
    named(&followed.err().expect("the snapshot follower refused it"));
    // A follower told to start below the snapshot does not read it.
    let below = JournalFollower::start(&data_dir, table, &capacity, Some(29)).unwrap();
    assert!(below.snapshot().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_good_snapshot_is_where_every_follower_starts() {
    let dir = temp_dir("journal-follower", "good-snapshot");
    let data_dir = dir.join("data");
    let snapshot = journal_and_snapshot(&dir, |hash| hash);
    let recovered = recover(&data_dir, &engine_config_small(), None).unwrap();
    assert_eq!(recovered.report.snapshot, Some((snapshot.clone(), 30)));
    assert_eq!(recovered.report.replayed, 20);
    assert_eq!(recovered.engine.last_sequence(), 50);
    let table = MarketTable::resolve(&engine_config_small()).unwrap();
    let mut follower =
        JournalFollower::start(&data_dir, table, &common::capacity(), Some(u64::MAX)).unwrap();
    assert_eq!(follower.snapshot(), Some(&(snapshot, 30)));
    assert_eq!(
        follower.apply_next(u64::MAX, &mut DiscardEvents).unwrap(),
        Some(31)
    );
    while follower
        .apply_next(u64::MAX, &mut DiscardEvents)
        .unwrap()
        .is_some()
    {}
    assert_eq!(
        follower.engine().state_hash(),
        recovered.engine.state_hash()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

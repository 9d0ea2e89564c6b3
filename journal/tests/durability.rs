//! Durability: the cursor follows appends within a bound, and a process killed with SIGKILL
//! loses nothing it reported durable.

mod common;

use std::time::{Duration, Instant};

use common::*;
use pinwheel_journal::{recover, Durability, DurableCursor};

/// Set in the child process: the directory it journals into.
const CHILD_ENV: &str = "PINWHEEL_JOURNAL_CRASH_CHILD";

fn cursor_reaches(durability: Durability) {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(durability, 1);
    let cursor = DurableCursor::open(&dirs.run()).unwrap();
    assert_eq!(cursor.get(), 0);
    for sequence in 1..=300u64 {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        if sequence % 30 == 0 {
            writer.publish();
            assert!(
                cursor.wait_for(sequence, WAIT),
                "{durability}: {sequence} not durable within {WAIT:?}"
            );
            assert_eq!(writer.durable_sequence(), cursor.get());
        }
    }
    writer.close().unwrap();
    assert_eq!(cursor.get(), 300);
}

#[test]
fn sync_durability_makes_published_frames_durable_within_a_bound() {
    cursor_reaches(Durability::Sync);
}

#[test]
fn async_durability_makes_published_frames_durable_within_a_bound() {
    cursor_reaches(Durability::Async);
}

#[test]
fn unpublished_frames_are_never_reported_durable() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::Sync, 1);
    writer.append(1, 1, &payload_for(1));
    writer.publish();
    assert!(DurableCursor::open(&dirs.run()).unwrap().wait_for(1, WAIT));
    writer.append(2, 2, &payload_for(2));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(writer.durable_sequence(), 1, "frame 2 was never published");
    writer.close().unwrap();
}

#[test]
fn the_flusher_counts_its_fdatasyncs_and_keeps_the_slowest() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::Sync, 1);
    let cursor = DurableCursor::open(&dirs.run()).unwrap();
    writer.reset_flusher_stats();
    for sequence in 1..=3u64 {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        writer.publish();
        assert!(cursor.wait_for(sequence, WAIT), "{sequence} not durable");
    }
    let stats = writer.flusher_stats();
    assert!(
        stats.syncs >= 3,
        "one fdatasync per durable step at least: {stats:?}"
    );
    assert!(stats.slowest_sync > Duration::ZERO, "{stats:?}");
    writer.reset_flusher_stats();
    assert_eq!(writer.flusher_stats().syncs, 0, "reset starts a new window");
    writer.close().unwrap();
}

/// Child side of the crash test: appends in sync mode and prints every durable sequence.
/// Does nothing unless started by `a_killed_writer_loses_nothing_it_reported_durable`.
#[test]
fn crash_child_entry() {
    let Some(dirs) = TestDirs::for_child(CHILD_ENV) else {
        return;
    };
    let data = dirs.data();
    let mut writer = dirs.open_writer(Durability::Sync, 1);
    // On its own line: the test harness has just printed "test crash_child_entry ... ".
    println!("\ndata {}", data.display());
    let mut reported = 0;
    for sequence in 1..=1_000_000u64 {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        if sequence % 3 == 0 {
            writer.publish();
        }
        let durable = writer.durable_sequence();
        if durable > reported {
            println!("durable {durable}");
            reported = durable;
        }
    }
}

#[test]
fn a_killed_writer_loses_nothing_it_reported_durable() {
    let root = tempfile::tempdir().unwrap();
    for round in 0..3u64 {
        let (mut child, mut lines) = spawn_child("crash_child_entry", CHILD_ENV, root.path());
        let (mut data, mut durable, mut reports) = (None, 0u64, 0u64);
        let deadline = Instant::now() + WAIT;
        // Kill after a varying number of durable reports, in the middle of appending.
        while reports < 20 + round * 37 {
            assert!(Instant::now() < deadline, "child made no progress");
            let line = lines.next().expect("child output").unwrap();
            if let Some(path) = line.strip_prefix("data ") {
                data = Some(std::path::PathBuf::from(path));
            } else if let Some(value) = line.strip_prefix("durable ") {
                durable = value.parse().unwrap();
                reports += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let journal = data
            .expect("child said where")
            .join(pinwheel_journal::JOURNAL_DIR);
        let report = recover(&journal).unwrap();
        assert!(
            report.last_sequence >= durable,
            "round {round}: reported {durable} durable, recovered {}",
            report.last_sequence
        );
        let seen = read_all(&journal, 1);
        assert_eq!(
            seen,
            (1..=report.last_sequence).collect::<Vec<_>>(),
            "round {round}: every sequence, in order"
        );
    }
}

#[test]
fn a_failed_preparer_is_reported_and_the_writer_stops_instead_of_hanging() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::Sync, 1);
    let deadline = Instant::now() + WAIT;
    // Wait until the preparer is idle, every ready segment and its staging file made: a
    // preparer still making one would recreate the folder (the staging folder is inside it).
    let stage = dirs.journal().join(pinwheel_journal::STAGE_DIR);
    let made = || {
        let staged = std::fs::read_dir(&stage).map_or(0, |dir| dir.count());
        segments(&dirs.journal()).len().min(staged)
    };
    while made() < 1 + pinwheel_journal::READY_SEGMENTS {
        assert!(
            Instant::now() < deadline,
            "the ready segments were not prepared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(20));
    // The journal directory disappears (a wrong cleanup, an unmounted disk).
    std::fs::remove_dir_all(dirs.journal()).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for sequence in 1..=1000u64 {
            writer.append(sequence, 0, &payload_for(sequence));
            writer.publish();
        }
    }));
    let message = outcome.expect_err("the writer must stop once no segment can be made");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.contains("preparer") && text.contains("journal"),
        "{text}"
    );
    let err = writer.health().expect_err("health reports the failure");
    assert_eq!(err.code(), "journal_background");
}

//! Writing and reading back: across segments, from the middle, while following, after reopening.

mod common;

use std::time::Instant;

use common::*;
use pinwheel_journal::{
    frame_size, recover, replay, Durability, DurableCursor, JournalError, JournalReader,
    JournalWriter, SEGMENT_HEADER_SIZE,
};

#[test]
fn frames_round_trip_across_many_segments() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 1000, 7);
    let per_segment = (TEST_SEGMENT_SIZE as usize - SEGMENT_HEADER_SIZE) / frame_size(128);
    assert!(
        segments(&dirs.journal()).len() >= 1000 / per_segment,
        "rolled over into many segments"
    );
    assert_eq!(read_all(&dirs.journal(), 1), (1..=1000).collect::<Vec<_>>());
    let report = recover(&dirs.journal()).unwrap();
    assert_eq!(
        (report.last_sequence, report.frames, report.torn_tail),
        (1000, 1000, None)
    );
}

#[test]
fn a_reader_can_start_in_the_middle_and_replay_stops_at_to() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 400, 10);
    assert_eq!(
        read_all(&dirs.journal(), 250),
        (250..=400).collect::<Vec<_>>()
    );
    let mut reader = JournalReader::open(&dirs.journal(), 54).unwrap();
    assert_eq!(reader.next().unwrap().map(|frame| frame.sequence), Some(54));
    // Frame 54 opens the second segment (53 frames fit in one).
    assert_eq!(
        reader.last_position(),
        Some((2, SEGMENT_HEADER_SIZE as u64))
    );
    let mut seen = Vec::new();
    let count = replay(&dirs.journal(), 100, Some(300), false, |frame| {
        seen.push(frame.sequence)
    })
    .unwrap();
    assert_eq!(count, 201);
    assert_eq!(seen, (100..=300).collect::<Vec<_>>());
}

#[test]
fn the_writer_continues_after_reopening_and_rejects_an_old_sequence() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 120, 5);
    let cursor = DurableCursor::create(&dirs.run()).unwrap();
    let err = JournalWriter::open(&dirs.config(Durability::Sync), cursor, 100)
        .err()
        .expect("must refuse");
    assert!(
        matches!(
            err,
            JournalError::SequenceMismatch {
                last: 120,
                requested: 100,
                ..
            }
        ),
        "{err}"
    );
    // Gaps are allowed (queries take sequences but are not journaled).
    write_frames(&dirs, 125, 300, 3);
    let mut expected: Vec<u64> = (1..=120).collect();
    expected.extend(125..=300);
    assert_eq!(read_all(&dirs.journal(), 1), expected);
}

#[test]
fn a_follower_sees_frames_as_they_are_published() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::Async, 1);
    let mut reader = JournalReader::open(&dirs.journal(), 1).unwrap();
    assert!(reader.next().unwrap().is_none(), "nothing yet");
    let mut next_expected = 1;
    for sequence in 1..=500u64 {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        if sequence % 25 == 0 {
            writer.publish();
            let deadline = Instant::now() + WAIT;
            while next_expected <= sequence {
                assert!(
                    Instant::now() < deadline,
                    "follower stuck at {next_expected}"
                );
                match reader.next().unwrap() {
                    Some(frame) => {
                        assert_eq!(frame.sequence, next_expected);
                        assert_eq!(frame.payload, &payload_for(next_expected)[..]);
                        next_expected += 1;
                    }
                    None => std::thread::yield_now(),
                }
            }
            assert!(reader.next().unwrap().is_none(), "end after {sequence}");
        }
    }
    writer.close().unwrap();
}

#[test]
fn durability_none_writes_nothing_and_reports_everything_durable() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::None, 1);
    writer.append(1, 1, &payload_for(1));
    writer.publish();
    assert_eq!(writer.written_sequence(), 1);
    assert_eq!(
        DurableCursor::open(&dirs.run()).unwrap().get(),
        DurableCursor::EVERYTHING
    );
    writer.close().unwrap();
    assert!(!dirs.journal().exists(), "no journal in durability none");
}

#[test]
#[should_panic(expected = "does not follow")]
fn a_sequence_that_does_not_increase_is_refused() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::Async, 1);
    writer.append(5, 1, &payload_for(5));
    writer.append(5, 1, &payload_for(5));
}

#[test]
fn a_first_sequence_left_on_an_empty_segment_by_a_crash_does_not_mislead_a_follower() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 100, 1);
    // Wait for the prepared segment after the last one with frames, then fake a writer that
    // stored the first sequence there and died before its frame.
    let writer = dirs.open_writer(Durability::Sync, 101);
    let deadline = Instant::now() + WAIT;
    while segments(&dirs.journal()).len() < 3 {
        assert!(Instant::now() < deadline, "no prepared segment");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    writer.close().unwrap();
    let spare = segments(&dirs.journal())[2].clone();
    let mut bytes = std::fs::read(&spare).unwrap();
    bytes[32..40].copy_from_slice(&101u64.to_le_bytes());
    std::fs::write(&spare, bytes).unwrap();
    let mut follower = JournalReader::open(&dirs.journal(), 95).unwrap();
    let mut fresh = JournalReader::open(&dirs.journal(), 101).unwrap();
    let mut seen = Vec::new();
    while let Some(frame) = follower.next().unwrap() {
        seen.push(frame.sequence);
    }
    assert!(fresh.next().unwrap().is_none());
    assert_eq!(recover(&dirs.journal()).unwrap().last_sequence, 100);
    write_frames(&dirs, 101, 110, 1);
    while let Some(frame) = follower.next().unwrap() {
        seen.push(frame.sequence);
    }
    assert_eq!(seen, (95..=110).collect::<Vec<_>>());
    let mut rest = Vec::new();
    while let Some(frame) = fresh.next().unwrap() {
        rest.push(frame.sequence);
    }
    assert_eq!(rest, (101..=110).collect::<Vec<_>>());
}

#[test]
fn a_second_writer_and_recovery_under_a_live_writer_are_refused() {
    let dirs = TestDirs::new();
    let writer = dirs.open_writer(Durability::Sync, 1);
    let cursor = DurableCursor::create(&dirs.run()).unwrap();
    let err = JournalWriter::open(&dirs.config(Durability::Sync), cursor, 1)
        .err()
        .expect("refused");
    assert_eq!(err.code(), "journal_locked", "{err}");
    assert_eq!(
        recover(&dirs.journal()).unwrap_err().code(),
        "journal_locked"
    );
    writer.close().unwrap();
    recover(&dirs.journal()).unwrap();
}

#[test]
fn a_writer_that_outruns_the_preparer_counts_its_wait() {
    let dirs = TestDirs::new();
    let mut writer = dirs.open_writer(Durability::Async, 1);
    assert_eq!(writer.segment_wait(), std::time::Duration::ZERO);
    // 53 frames fill a test segment in microseconds; preparing the next one (create,
    // fallocate, fsync, rename, fsync of the folder, and its staging file) takes longer, so
    // a tight loop over 100 segments catches up with the preparer and has to wait for it.
    let started = Instant::now();
    for sequence in 1..=5_300 {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        writer.publish();
    }
    let waited = writer.segment_wait();
    assert!(waited > std::time::Duration::ZERO, "no wait counted");
    assert!(waited < started.elapsed(), "waited {waited:?}");
    writer.close().unwrap();
}

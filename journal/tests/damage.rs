//! Damage before the tail is never skipped: recovery, verify and readers stop and name the
//! file and byte offset. Snapshots likewise.

mod common;

use common::*;
use pinwheel_journal::{
    frame_size, latest_snapshot, read_snapshot, recover, replay, verify, write_snapshot,
    JournalError, JournalReader, SEGMENT_HEADER_SIZE, SNAPSHOT_DIR,
};

const FRAMES: u64 = 300;

fn frame_offset(slot: usize) -> u64 {
    (SEGMENT_HEADER_SIZE + slot * frame_size(128)) as u64
}

fn expect_damage_at(
    result: Result<impl std::fmt::Debug, JournalError>,
    path: &std::path::Path,
    offset: u64,
) {
    match result {
        Err(JournalError::Damaged {
            path: got_path,
            offset: got_offset,
            reason,
        }) => {
            assert_eq!(
                (got_path.as_path(), got_offset),
                (path, offset),
                "reason: {reason}"
            );
        }
        other => panic!(
            "expected damage at {} byte {offset}, got {other:?}",
            path.display()
        ),
    }
}

/// Every tool that reads the journal must refuse it and name the spot.
fn everyone_names(dirs: &TestDirs, path: &std::path::Path, offset: u64) {
    expect_damage_at(verify(&dirs.data()), path, offset);
    expect_damage_at(recover(&dirs.journal()), path, offset);
    expect_damage_at(
        replay(&dirs.journal(), 1, None, false, |_| {}),
        path,
        offset,
    );
    let message = recover(&dirs.journal()).unwrap_err().to_string();
    assert!(
        message.contains(&path.display().to_string())
            && message.contains(&format!("byte {offset}")),
        "{message}"
    );
}

#[test]
fn a_bit_flip_in_the_middle_of_an_early_segment_is_named() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 10);
    let segment = segments(&dirs.journal())[1].clone();
    let offset = frame_offset(20);
    flip_bit(&segment, offset + 24 + 60, 3);
    everyone_names(&dirs, &segment, offset);
}

#[test]
fn a_bit_flip_in_the_middle_of_the_last_segment_is_named_not_cut() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 10);
    // The last segment that holds frames (prepared, empty segments follow it).
    let segment = segments(&dirs.journal())
        .into_iter()
        .rev()
        .find(|path| std::fs::read(path).unwrap()[frame_offset(0) as usize] != 0)
        .unwrap();
    let bytes = std::fs::read(&segment).unwrap();
    assert!(
        bytes[frame_offset(10) as usize] != 0,
        "frames follow the flipped one"
    );
    let offset = frame_offset(3);
    flip_bit(&segment, offset + 8, 0);
    everyone_names(&dirs, &segment, offset);
}

#[test]
fn a_length_field_flipped_to_zero_in_the_middle_is_named() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 10);
    let segment = segments(&dirs.journal())[2].clone();
    let offset = frame_offset(30);
    // 128 is a single bit: one flip turns the length into "no frame here".
    flip_bit(&segment, offset, 7);
    everyone_names(&dirs, &segment, offset);
}

#[test]
fn a_damaged_segment_header_is_named() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 10);
    let segment = segments(&dirs.journal())[0].clone();
    flip_bit(&segment, 20, 1);
    expect_damage_at(recover(&dirs.journal()), &segment, 12);
    let err = JournalReader::open(&dirs.journal(), 1)
        .err()
        .expect("reader refuses");
    assert_eq!(err.code(), "journal_damaged");
}

#[test]
fn a_bit_flip_in_a_snapshot_is_named_and_the_newest_valid_one_is_used() {
    let dirs = TestDirs::new();
    let snapshots = dirs.data().join(SNAPSHOT_DIR);
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    write_snapshot(&snapshots, 10, 0xAAAA, &body).unwrap();
    let newest = write_snapshot(&snapshots, 20, 0xBBBB, &body).unwrap();
    assert_eq!(latest_snapshot(&snapshots).unwrap().unwrap().sequence, 20);
    // Body starts after the 64-byte header and a 16-byte table of 4 block CRCs.
    let body_at = 64 + 16;
    flip_bit(&newest, (body_at + 150_000) as u64, 5);
    let block_start = (body_at + 2 * 65536) as u64;
    expect_damage_at(read_snapshot(&newest), &newest, block_start);
    expect_damage_at(verify(&dirs.data()), &newest, block_start);
    let fallback = latest_snapshot(&snapshots)
        .unwrap()
        .expect("older snapshot");
    assert_eq!((fallback.sequence, fallback.state_hash), (10, 0xAAAA));
    assert_eq!(fallback.body, body);
    assert_eq!(fallback.skipped.len(), 1);
    assert_eq!(
        (
            fallback.skipped[0].path.as_path(),
            fallback.skipped[0].offset
        ),
        (newest.as_path(), block_start)
    );
}

#[test]
fn a_snapshot_header_flip_is_named() {
    let dirs = TestDirs::new();
    let snapshots = dirs.data().join(SNAPSHOT_DIR);
    let path = write_snapshot(&snapshots, 5, 1, b"state").unwrap();
    flip_bit(&path, 17, 0);
    expect_damage_at(read_snapshot(&path), &path, 12);
    assert_eq!(latest_snapshot(&snapshots).unwrap(), None);
}

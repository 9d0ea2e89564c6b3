//! A crash in mid-write leaves a partial last frame: recovery cuts it at every possible byte
//! offset, keeps everything before it, and the writer continues cleanly afterwards.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use pinwheel_journal::{frame_size, recover, verify, Durability, SEGMENT_HEADER_SIZE};

const FRAMES: u64 = 100;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        std::fs::copy(item.path(), to.join(item.file_name())).unwrap();
    }
}

/// The segment and offset of frame `sequence` when frames 1.. were written consecutively.
fn position_of(journal: &Path, sequence: u64) -> (PathBuf, usize) {
    let per_segment = (TEST_SEGMENT_SIZE as usize - SEGMENT_HEADER_SIZE) / frame_size(128);
    let index = (sequence as usize - 1) / per_segment;
    let slot = (sequence as usize - 1) % per_segment;
    (
        segments(journal)[index].clone(),
        SEGMENT_HEADER_SIZE + slot * frame_size(128),
    )
}

/// Recovers a damaged copy and checks the tail was cut at `offset` and the writer goes on.
fn recover_and_continue(dirs: &TestDirs, last_segment: &Path, offset: usize, expect_torn: bool) {
    let report = recover(&dirs.journal()).unwrap_or_else(|err| panic!("cut at {offset}: {err}"));
    assert_eq!(report.last_sequence, FRAMES - 1);
    assert_eq!(report.frames, FRAMES - 1);
    let expected_torn = expect_torn.then(|| (last_segment.to_path_buf(), offset as u64));
    assert_eq!(report.torn_tail, expected_torn);
    let bytes = std::fs::read(last_segment).unwrap();
    assert!(bytes[offset..].iter().all(|b| *b == 0), "torn bytes zeroed");
    assert_eq!(
        verify(&dirs.data()).unwrap().torn_tail,
        None,
        "nothing torn after recovery"
    );
    write_frames(dirs, FRAMES, FRAMES + 5, 2);
    assert_eq!(
        read_all(&dirs.journal(), 1),
        (1..=FRAMES + 5).collect::<Vec<_>>()
    );
}

#[test]
fn a_last_frame_cut_at_every_byte_offset_is_cut_off_and_everything_before_kept() {
    let pristine = TestDirs::new();
    write_frames(&pristine, 1, FRAMES, 1);
    let (_, offset) = position_of(&pristine.journal(), FRAMES);
    for written in 0..frame_size(128) {
        let dirs = TestDirs::new();
        copy_dir(&pristine.journal(), &dirs.journal());
        let (segment, _) = position_of(&dirs.journal(), FRAMES);
        let mut bytes = std::fs::read(&segment).unwrap();
        bytes[offset + written..offset + frame_size(128)].fill(0);
        std::fs::write(&segment, bytes).unwrap();
        recover_and_continue(&dirs, &segment, offset, written > 0);
    }
}

#[test]
fn a_last_frame_written_but_for_its_length_is_a_torn_tail() {
    // The writer stores the length last: a kill just before leaves everything else.
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 1);
    let (segment, offset) = position_of(&dirs.journal(), FRAMES);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[offset..offset + 4].fill(0);
    std::fs::write(&segment, bytes).unwrap();
    let mut replayed = 0;
    pinwheel_journal::replay(&dirs.journal(), 1, None, false, |_| replayed += 1).unwrap();
    assert_eq!(replayed, FRAMES - 1, "replay stops at the torn frame");
    recover_and_continue(&dirs, &segment, offset, true);
}

#[test]
fn an_unused_prepared_segment_after_the_tail_does_not_hide_a_torn_frame() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 1);
    // Reopening leaves a prepared, empty segment after the last one with frames.
    let before = segments(&dirs.journal()).len();
    let writer = dirs.open_writer(Durability::Sync, FRAMES + 1);
    let deadline = std::time::Instant::now() + WAIT;
    while segments(&dirs.journal()).len() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the preparer never made the next segment"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    writer.close().unwrap();
    let (segment, offset) = position_of(&dirs.journal(), FRAMES);
    assert!(
        segments(&dirs.journal()).last().unwrap() != &segment,
        "an empty segment follows"
    );
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[offset + 30] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    recover_and_continue(&dirs, &segment, offset, true);
}

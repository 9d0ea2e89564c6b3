//! The writer appends into staging files; frames reach the segment files when the flusher
//! copies them. A killed writer's staged frames are copied in by recovery; a staging file that
//! disagrees with its segment is damage; a torn staged frame is reported and left out.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use pinwheel_journal::{
    frame_size, recover, Durability, JournalError, SEGMENT_HEADER_SIZE, STAGE_DIR,
};

/// Set in the child process: the directory it journals into.
const CHILD_ENV: &str = "PINWHEEL_JOURNAL_STAGE_CHILD";
/// Frames the child stages: several segments of `TEST_SEGMENT_SIZE`.
const STAGED: u64 = 300;

fn stage_dir(dirs: &TestDirs) -> PathBuf {
    dirs.journal().join(STAGE_DIR)
}

fn staged_files(dirs: &TestDirs) -> Vec<PathBuf> {
    match std::fs::read_dir(stage_dir(dirs)) {
        Ok(read) => read.map(|entry| entry.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Child side: stages `STAGED` frames in async mode with a flush interval far beyond the
/// test, reports, and waits to be killed. Does nothing unless started by the test below.
#[test]
fn stage_child_entry() {
    let Some(dirs) = TestDirs::for_child(CHILD_ENV) else {
        return;
    };
    let mut config = dirs.config(Durability::Async);
    config.flush_interval = Duration::from_secs(60);
    let cursor = pinwheel_journal::DurableCursor::create(&dirs.run()).unwrap();
    let mut writer = pinwheel_journal::JournalWriter::open(&config, cursor, 1).unwrap();
    for sequence in 1..=STAGED {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        if sequence % 10 == 0 {
            writer.publish();
        }
    }
    // On its own line: the test harness has just printed "test stage_child_entry ... ".
    println!("\nstaged {}", dirs.root.path().display());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_writers_staged_frames_reach_the_journal_at_recovery() {
    let root = tempfile::tempdir().unwrap();
    let (mut child, mut lines) = spawn_child("stage_child_entry", CHILD_ENV, root.path());
    let deadline = Instant::now() + WAIT;
    let child_root = loop {
        assert!(Instant::now() < deadline, "the child staged nothing");
        let line = lines.next().expect("child output").unwrap();
        if let Some(path) = line.strip_prefix("staged ") {
            break PathBuf::from(path);
        }
    };
    let journal = child_root.join("data").join("journal");
    assert!(
        read_all(&journal, 1).is_empty(),
        "nothing was flushed yet: the frames are only staged"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let report = recover(&journal).unwrap();
    assert_eq!(report.staged.frames, STAGED, "{report:?}");
    assert_eq!(report.last_sequence, STAGED);
    assert_eq!(read_all(&journal, 1), (1..=STAGED).collect::<Vec<_>>());
    assert!(
        std::fs::read_dir(journal.join(STAGE_DIR))
            .map(|read| read.count())
            .unwrap_or(0)
            == 0,
        "merged staging files are removed"
    );
}

/// Writes `frames` frames cleanly (fewer than a segment holds), then copies their segment into
/// the staging folder as the writer would have left it; returns (segment, staged copy).
fn staged_copy_of_first_segment(dirs: &TestDirs, frames: u64) -> (PathBuf, PathBuf) {
    write_frames(dirs, 1, frames, 1);
    let segment = segments(&dirs.journal())[0].clone();
    let staged = stage(dirs, &segment);
    (segment, staged)
}

/// Copies `segment` (of any journal) into the staging folder of `dirs`; returns the copy.
fn stage(dirs: &TestDirs, segment: &Path) -> PathBuf {
    std::fs::create_dir_all(stage_dir(dirs)).unwrap();
    let staged = stage_dir(dirs).join(segment.file_name().unwrap());
    std::fs::copy(segment, &staged).unwrap();
    staged
}

/// Rewrites a file through `change`.
fn edit(path: &Path, change: impl FnOnce(&mut [u8])) {
    let mut bytes = std::fs::read(path).unwrap();
    change(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn frames_only_in_the_stage_are_copied_into_their_segment() {
    let dirs = TestDirs::new();
    let (segment, _) = staged_copy_of_first_segment(&dirs, 10);
    // The last two frames never reached the segment file.
    let first_missing = SEGMENT_HEADER_SIZE + 8 * frame_size(128);
    edit(&segment, |bytes| {
        bytes[first_missing..first_missing + 2 * frame_size(128)].fill(0)
    });
    let report = recover(&dirs.journal()).unwrap();
    assert_eq!(report.staged.frames, 2);
    assert_eq!(report.staged.torn, None);
    assert_eq!(read_all(&dirs.journal(), 1), (1..=10).collect::<Vec<_>>());
    assert!(staged_files(&dirs).is_empty());
    // Idempotent: nothing left to copy.
    assert_eq!(recover(&dirs.journal()).unwrap().staged.frames, 0);
}

#[test]
fn a_torn_staged_frame_is_reported_and_left_out() {
    let dirs = TestDirs::new();
    let (_, staged) = staged_copy_of_first_segment(&dirs, 10);
    // Half a frame after the last one: the engine died mid-append.
    let at = SEGMENT_HEADER_SIZE + 10 * frame_size(128);
    edit(&staged, |bytes| bytes[at..at + 40].fill(0x5a));
    let report = recover(&dirs.journal()).unwrap();
    assert_eq!(report.staged.frames, 0);
    assert_eq!(report.staged.torn, Some((staged, at as u64)));
    assert_eq!(report.last_sequence, 10);
    assert_eq!(report.torn_tail, None, "the segment itself is intact");
}

#[test]
fn a_stage_that_disagrees_with_its_segment_stops_recovery() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 10, 1);
    let segment = segments(&dirs.journal())[0].clone();
    // An intact staging copy, but of another journal: its frames start at sequence 5.
    let other = TestDirs::new();
    write_frames(&other, 5, 14, 1);
    let staged = stage(&dirs, &segments(&other.journal())[0]);
    let err = recover(&dirs.journal()).unwrap_err();
    assert!(
        matches!(&err, JournalError::Damaged { path, .. } if *path == segment),
        "{err}"
    );
    assert!(staged.exists(), "a stage in doubt is kept for the operator");
}

#[test]
fn a_half_made_staging_file_is_removed_not_reported() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 10, 1);
    std::fs::create_dir_all(stage_dir(&dirs)).unwrap();
    // The preparer died after creating the file, before writing the header.
    let half_made = stage_dir(&dirs).join("00000000000000000002.seg");
    std::fs::write(&half_made, vec![0u8; TEST_SEGMENT_SIZE as usize]).unwrap();
    let report = recover(&dirs.journal()).unwrap();
    assert_eq!(report.staged, Default::default());
    assert_eq!(report.last_sequence, 10);
    assert!(!half_made.exists());
}

#[test]
fn a_broken_staged_frame_with_intact_frames_after_it_is_damage() {
    let dirs = TestDirs::new();
    let (_, staged) = staged_copy_of_first_segment(&dirs, 10);
    let third = SEGMENT_HEADER_SIZE + 2 * frame_size(128);
    // Frame 3's payload: its CRC fails, frames 4..10 are intact.
    edit(&staged, |bytes| bytes[third + 40] ^= 0xff);
    let err = recover(&dirs.journal()).unwrap_err();
    assert!(
        matches!(&err, JournalError::Damaged { path, offset, .. } if *path == staged && *offset == third as u64),
        "{err}"
    );
}

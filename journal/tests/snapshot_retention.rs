//! Snapshots are atomic (a leftover temp file is ignored) and retention removes or archives
//! only segments wholly before the snapshot.

mod common;

use common::*;
use pinwheel_journal::{
    apply_retention, latest_snapshot, recover, replay, verify, write_snapshot, JournalError,
    JournalReader, Retention, ARCHIVE_DIR, SNAPSHOT_DIR,
};

const FRAMES: u64 = 600;

#[test]
fn the_newest_snapshot_wins_and_a_leftover_temp_file_is_ignored() {
    let dirs = TestDirs::new();
    let snapshots = dirs.data().join(SNAPSHOT_DIR);
    assert_eq!(latest_snapshot(&snapshots).unwrap(), None);
    write_snapshot(&snapshots, 100, 11, b"old state").unwrap();
    let path = write_snapshot(&snapshots, 200, 22, b"new state").unwrap();
    // A follower killed mid-write leaves a partial temp file of a newer snapshot behind.
    std::fs::write(
        snapshots.join("00000000000000000300.snap.tmp-4242"),
        b"PWSNAP01 half",
    )
    .unwrap();
    let latest = latest_snapshot(&snapshots).unwrap().unwrap();
    assert_eq!(
        (
            latest.sequence,
            latest.state_hash,
            latest.body.as_slice(),
            latest.path
        ),
        (200, 22, &b"new state"[..], path)
    );
    assert!(latest.skipped.is_empty());
    let report = verify(&dirs.data()).unwrap();
    assert_eq!(
        report.snapshots.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![200, 100]
    );
    // The next snapshot written clears the leftover.
    write_snapshot(&snapshots, 300, 33, b"newer state").unwrap();
    let names: Vec<_> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|name| name.ends_with(".snap")),
        "{names:?}"
    );
    assert_eq!(latest_snapshot(&snapshots).unwrap().unwrap().sequence, 300);
}

fn retention_removes_only_covered_segments(policy: Retention) {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, FRAMES, 10);
    let before = segments(&dirs.journal());
    let per_segment = 53u64;
    // A snapshot in the middle of the 5th segment: segments 1..=4 are wholly before it.
    let snapshot = 4 * per_segment + 20;
    write_snapshot(&dirs.data().join(SNAPSHOT_DIR), snapshot, 7, b"state").unwrap();
    let removed = apply_retention(&dirs.journal(), snapshot, policy).unwrap();
    assert_eq!(removed, 4);
    let after = segments(&dirs.journal());
    assert_eq!(
        after,
        before[4..].to_vec(),
        "the oldest four segments went, the rest stayed"
    );
    let archived: Vec<_> = before[..4]
        .iter()
        .map(|p| {
            dirs.journal()
                .join(ARCHIVE_DIR)
                .join(p.file_name().unwrap())
        })
        .collect();
    for (gone, archive) in before[..4].iter().zip(&archived) {
        assert!(!gone.exists());
        assert_eq!(archive.exists(), policy == Retention::Archive);
    }
    // Everything after the snapshot is still there; before it, readers are told clearly.
    let mut tail = Vec::new();
    replay(&dirs.journal(), snapshot + 1, None, false, |frame| {
        tail.push(frame.sequence)
    })
    .unwrap();
    assert_eq!(tail, (snapshot + 1..=FRAMES).collect::<Vec<_>>());
    let err = JournalReader::open(&dirs.journal(), 1)
        .err()
        .expect("frame 1 is gone");
    assert!(
        matches!(err, JournalError::NotCovered { from: 1, oldest, .. } if oldest == 4 * per_segment + 1),
        "{err}"
    );
    assert_eq!(recover(&dirs.journal()).unwrap().last_sequence, FRAMES);
    verify(&dirs.data()).unwrap();
    // Retention never takes the segment the writer appends to, even for a snapshot past the end.
    let kept = apply_retention(&dirs.journal(), FRAMES + 100, policy).unwrap();
    assert_eq!(segments(&dirs.journal()).len(), after.len() - kept);
    assert!(!segments(&dirs.journal()).is_empty());
    assert_eq!(read_all(&dirs.journal(), FRAMES).last(), Some(&FRAMES));
}

#[test]
fn retention_delete_removes_only_segments_wholly_before_the_snapshot() {
    retention_removes_only_covered_segments(Retention::Delete);
}

#[test]
fn retention_archive_moves_only_segments_wholly_before_the_snapshot() {
    retention_removes_only_covered_segments(Retention::Archive);
}

#[test]
fn retention_keep_keeps_everything() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 200, 10);
    let before = segments(&dirs.journal());
    assert_eq!(
        apply_retention(&dirs.journal(), 200, Retention::Keep).unwrap(),
        0
    );
    assert_eq!(segments(&dirs.journal()), before);
}

#[test]
fn verify_fails_when_removed_segments_are_not_covered_by_a_snapshot() {
    let dirs = TestDirs::new();
    write_frames(&dirs, 1, 300, 10);
    let snapshots = dirs.data().join(SNAPSHOT_DIR);
    let path = write_snapshot(&snapshots, 120, 1, b"state").unwrap();
    apply_retention(&dirs.journal(), 120, Retention::Delete).unwrap();
    verify(&dirs.data()).unwrap();
    std::fs::remove_file(path).unwrap();
    let err = verify(&dirs.data()).unwrap_err();
    assert_eq!(err.code(), "journal_not_covered", "{err}");
}

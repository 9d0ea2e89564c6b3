//! Journal segment files and their frames, read by the strict scan (`verify`), crash recovery
//! (`recover`) and the follower's `JournalReader`, from arbitrary bytes. The first byte picks
//! the shape: bit 0 puts an intact header (`fuzzing::segment_header`) in front of the rest,
//! bit 1 also seals every whole frame's CRC so the fuzzer reaches the sequence and tail rules,
//! bit 2 splits the rest into two segments (at the second byte's share). Checks: no panic; the
//! scan and recovery agree on whether the journal is damaged, and damage names its file; after
//! recovery the journal has no torn tail, and the reader reads exactly the frames recovery
//! counted, in increasing sequence, up to the last one.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pinwheel_fuzz::scratch;
use pinwheel_journal::fuzzing::{seal_frames, segment_header};
use pinwheel_journal::{
    recover, segment_file_name, verify, JournalError, JournalReader, JOURNAL_DIR,
    SEGMENT_HEADER_SIZE,
};

fuzz_target!(|data: &[u8]| {
    let [shape, split, rest @ ..] = data else {
        return;
    };
    let data_dir = scratch::fresh("journal");
    let dir = data_dir.join(JOURNAL_DIR);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let parts = if shape & 4 != 0 {
        let at = rest.len() * usize::from(*split) / 256;
        vec![&rest[..at], &rest[at..]]
    } else {
        vec![rest]
    };
    for (index, part) in (1u64..).zip(parts) {
        let file = segment(index, part, *shape);
        std::fs::write(dir.join(segment_file_name(index)), file).expect("scratch write");
    }
    check(&data_dir, &dir);
});

/// One segment file: `body` as is, or behind an intact header (with its frames sealed).
fn segment(index: u64, body: &[u8], shape: u8) -> Vec<u8> {
    if shape & 1 == 0 {
        return body.to_vec();
    }
    let size = (SEGMENT_HEADER_SIZE + body.len()) as u64;
    let mut file = segment_header(index, size).to_vec();
    file.extend_from_slice(body);
    if shape & 2 != 0 {
        seal_frames(&mut file[SEGMENT_HEADER_SIZE..]);
        // The first-sequence field (outside the header CRC) names the first frame's sequence.
        let first = SEGMENT_HEADER_SIZE + 8;
        if let Some(sequence) = file.get(first..first + 8).map(<[u8]>::to_vec) {
            file[32..40].copy_from_slice(&sequence);
        }
    }
    file
}

fn check(data_dir: &Path, dir: &Path) {
    let scanned = verify(data_dir);
    let recovered = recover(dir);
    match (&scanned, &recovered) {
        (Ok(_), Ok(_)) => {}
        (Err(a), Err(b)) => {
            assert_named(a, dir);
            assert_named(b, dir);
            return;
        }
        _ => panic!("verify and recover disagree: {scanned:?} / {recovered:?}"),
    }
    let report = recovered.expect("checked above");
    let after = verify(data_dir).expect("a recovered journal verifies");
    assert_eq!(after.torn_tail, None, "recovery left a torn tail");
    assert_eq!(
        (after.frames, after.last_sequence),
        (report.frames, report.last_sequence)
    );
    let mut reader = JournalReader::open(dir, 0).expect("a recovered journal opens");
    let (mut frames, mut last) = (0u64, 0u64);
    while let Some(frame) = reader.next().expect("a recovered journal reads") {
        assert!(
            frame.sequence > last,
            "sequence {} after {last}",
            frame.sequence
        );
        last = frame.sequence;
        frames += 1;
    }
    assert_eq!((frames, last), (report.frames, report.last_sequence));
}

/// Damage names a file of the journal and says what is wrong.
fn assert_named(error: &JournalError, dir: &Path) {
    match error {
        JournalError::Damaged { path, reason, .. } => {
            assert!(path.starts_with(dir), "damage outside the journal: {error}");
            assert!(!reason.is_empty(), "damage without a reason: {error}");
        }
        other => panic!("scratch files fail only as damage, not: {other}"),
    }
}

//! Ring files as a user meets them: creation, checks on attach, bad files,
//! edge attach/detach/reclaim and engine restarts, in one process.

use std::fs::OpenOptions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::{output_ring, overwrite, run_dir, RECORD};
use pinwheel_ring::{
    control_path, input_path, output_path, BroadcastReader, BroadcastWriter, EdgeChange,
    InputConfig, InputHub, InputProducer, Lapped, RingError, RingFull,
};

fn record(value: u64) -> [u8; RECORD] {
    let mut bytes = [0u8; RECORD];
    for chunk in bytes.chunks_exact_mut(8) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    bytes
}

fn value(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().unwrap())
}

fn small_config() -> InputConfig {
    InputConfig {
        max_edges: 4,
        capacity: 64,
        record_size: RECORD,
        heartbeat_timeout: Duration::from_secs(10),
    }
}

fn drain_all(hub: &mut InputHub) -> Vec<(u16, u64)> {
    let mut seen = Vec::new();
    while hub.drain(16, |edge, bytes| seen.push((edge, value(bytes)))) > 0 {}
    seen
}

fn changes(hub: &mut InputHub) -> Vec<EdgeChange> {
    let mut seen = Vec::new();
    hub.maintain(|change| seen.push(change));
    seen
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn created_files_are_private() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let _hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    let _writer = BroadcastWriter::open_or_create(&output_path(&dir), RECORD, 64).unwrap();
    assert_eq!(mode(&dir), 0o700);
    for path in [
        control_path(&dir),
        input_path(&dir, 0),
        input_path(&dir, 3),
        output_path(&dir),
    ] {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

fn bad_output(dir: &Path) -> PathBuf {
    output_ring(dir).0
}

fn message(error: RingError, path: &Path) -> String {
    let text = error.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name the file: {text}"
    );
    text
}

#[test]
fn wrong_magic_is_refused_by_name() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let path = bad_output(&dir);
    overwrite(&path, 0, b"NOTARING");
    let error = BroadcastReader::attach(&path).err().unwrap();
    assert!(matches!(error, RingError::BadMagic { .. }), "{error:?}");
    assert!(message(error, &path).contains("wrong magic"));
}

#[test]
fn wrong_version_is_refused_by_name() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let path = bad_output(&dir);
    overwrite(&path, 8, &99u32.to_ne_bytes());
    let error = BroadcastWriter::open_or_create(&path, RECORD, 64)
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            RingError::BadVersion {
                found: 99,
                expected: pinwheel_ring::LAYOUT_VERSION,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(message(error, &path).contains("layout version 99"));
}

#[test]
fn truncated_file_is_refused_by_name() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let path = bad_output(&dir);
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    let full = file.metadata().unwrap().len();
    file.set_len(full - 64).unwrap();
    let error = BroadcastReader::attach(&path).err().unwrap();
    assert!(
        matches!(error, RingError::FileLength { found, expected, .. } if found == full - 64 && expected == full),
        "{error:?}"
    );
    message(error, &path);
    file.set_len(16).unwrap();
    let error = BroadcastReader::attach_waiting(&path, 0, Duration::from_millis(30))
        .err()
        .unwrap();
    assert!(message(error, &path).contains("shorter than its header"));
}

#[test]
fn wrong_permissions_are_refused_by_name() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let path = bad_output(&dir);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = BroadcastReader::attach(&path).err().unwrap();
    assert!(
        matches!(
            error,
            RingError::Permissions {
                found: 0o644,
                expected: 0o600,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(message(error, &path).contains("0o644"));
}

#[test]
fn another_kind_or_geometry_is_refused_by_name() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let _hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    let error = BroadcastReader::attach(&input_path(&dir, 0)).err().unwrap();
    assert!(
        matches!(
            error,
            RingError::WrongKind {
                found: 1,
                expected: 2,
                ..
            }
        ),
        "{error:?}"
    );
    let path = bad_output(&dir);
    let error = BroadcastWriter::open_or_create(&path, 256, 64)
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            RingError::RecordSize {
                found: 128,
                expected: 256,
                ..
            }
        ),
        "{error:?}"
    );
    let error = BroadcastWriter::open_or_create(&path, RECORD, 128)
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            RingError::Capacity {
                found: 64,
                expected: 128,
                ..
            }
        ),
        "{error:?}"
    );
    let bigger = InputConfig {
        max_edges: 5,
        ..small_config()
    };
    let error = InputHub::open_or_create(&dir, bigger).err().unwrap();
    assert!(message(error, &control_path(&dir)).contains("capacity 4, expected 5"));
}

#[test]
fn an_uninitialised_or_missing_file_times_out_with_a_reason() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let path = bad_output(&dir);
    overwrite(&path, 8, &0u32.to_ne_bytes());
    let started = Instant::now();
    let error = BroadcastReader::attach_waiting(&path, 0, Duration::from_millis(50))
        .err()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(message(error, &path).contains("version 0"));
    let error = InputProducer::attach(&dir.join("nowhere"), Duration::from_millis(20))
        .err()
        .unwrap();
    assert!(error.to_string().contains("does not exist"), "{error}");
}

#[test]
fn impossible_configurations_are_refused() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    for (record_size, capacity) in [(100, 64), (0, 64), (RECORD, 100), (RECORD, 1)] {
        let config = InputConfig {
            record_size,
            capacity,
            ..small_config()
        };
        let error = InputHub::open_or_create(&dir, config).err().unwrap();
        assert!(matches!(error, RingError::InvalidConfig(_)), "{error:?}");
    }
}

#[test]
fn edges_attach_push_detach_and_the_engine_sees_it() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let mut hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    let mut first = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    let mut second = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    assert_ne!(first.edge_id(), second.edge_id());
    assert!(first.engine_alive(Duration::from_secs(5)));
    for n in 0..3 {
        first.try_push(&record(100 + n)).unwrap();
        second.try_push(&record(200 + n)).unwrap();
    }
    let seen = drain_all(&mut hub);
    let of = |edge: u16| {
        seen.iter()
            .filter(|(e, _)| *e == edge)
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
    };
    assert_eq!(of(first.edge_id()), vec![100, 101, 102]);
    assert_eq!(of(second.edge_id()), vec![200, 201, 202]);
    let mut attached = changes(&mut hub);
    attached.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        attached,
        vec![EdgeChange::Attached(0), EdgeChange::Attached(1)]
    );
    second.try_push(&record(203)).unwrap();
    let gone = second.edge_id();
    drop(second);
    assert_eq!(
        changes(&mut hub),
        vec![],
        "a detached edge's records are drained first"
    );
    assert_eq!(drain_all(&mut hub), vec![(gone, 203)]);
    assert_eq!(changes(&mut hub), vec![EdgeChange::Detached(gone)]);
    let third = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    assert_eq!(third.edge_id(), gone, "the freed slot is reused");
}

#[test]
fn a_full_ring_refuses_and_a_batch_takes_what_fits() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let mut hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    let mut producer = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    let records: Vec<[u8; RECORD]> = (0..80).map(record).collect();
    let refs: Vec<&[u8]> = records.iter().map(|r| &r[..]).collect();
    assert_eq!(producer.try_push_batch(&refs), 64);
    assert_eq!(producer.try_push(&record(999)), Err(RingFull));
    let values: Vec<u64> = drain_all(&mut hub).into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, (0..64).collect::<Vec<_>>());
    assert_eq!(producer.try_push_batch(&refs[64..]), 16);
}

#[test]
fn drain_shares_a_small_budget_between_edges() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let mut hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    let mut busy = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    let mut quiet = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    for n in 0..40 {
        busy.try_push(&record(n)).unwrap();
    }
    quiet.try_push(&record(7)).unwrap();
    let mut first = Vec::new();
    hub.drain(8, |edge, _| first.push(edge));
    assert_eq!(first.len(), 8);
    assert!(
        first.contains(&quiet.edge_id()),
        "the quiet edge waited behind the busy one: {first:?}"
    );
}

#[test]
fn a_restarted_engine_keeps_edges_and_their_unread_records() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    let mut producer = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    producer.try_push(&record(1)).unwrap();
    drop(hub);
    producer.try_push(&record(2)).unwrap();
    let mut hub = InputHub::open_or_create(&dir, small_config()).unwrap();
    assert_eq!(
        drain_all(&mut hub),
        vec![(producer.edge_id(), 1), (producer.edge_id(), 2)]
    );
    assert_eq!(
        changes(&mut hub),
        vec![EdgeChange::Attached(producer.edge_id())]
    );
    assert!(producer.is_attached());
}

#[test]
fn an_edge_with_a_stale_heartbeat_is_reclaimed_after_its_records_are_drained() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let config = InputConfig {
        heartbeat_timeout: Duration::from_millis(30),
        ..small_config()
    };
    let mut hub = InputHub::open_or_create(&dir, config).unwrap();
    let mut producer = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    let edge = producer.edge_id();
    producer.try_push(&record(5)).unwrap();
    assert_eq!(changes(&mut hub), vec![EdgeChange::Attached(edge)]);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        changes(&mut hub),
        vec![],
        "not freed while a record is unread"
    );
    assert!(!producer.is_attached());
    assert_eq!(
        producer.try_push(&record(6)),
        Err(RingFull),
        "a reclaimed edge cannot write"
    );
    assert_eq!(drain_all(&mut hub), vec![(edge, 5)]);
    assert_eq!(changes(&mut hub), vec![EdgeChange::Reclaimed(edge)]);
    let successor = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    assert_eq!(successor.edge_id(), edge);
}

#[test]
fn attaching_when_every_slot_is_taken_fails_after_the_timeout() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    let config = InputConfig {
        max_edges: 1,
        ..small_config()
    };
    let _hub = InputHub::open_or_create(&dir, config).unwrap();
    let _only = InputProducer::attach(&dir, Duration::from_secs(1)).unwrap();
    let error = InputProducer::attach(&dir, Duration::from_millis(20))
        .err()
        .unwrap();
    assert!(
        matches!(error, RingError::NoFreeSlot { max_edges: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn a_restarted_broadcast_writer_continues_its_sequence() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    std::fs::create_dir_all(&dir).unwrap();
    let path = output_path(&dir);
    let mut writer = BroadcastWriter::open_or_create(&path, RECORD, 64).unwrap();
    assert_eq!(writer.publish(&record(10)), 0);
    let batch = [record(11), record(12)];
    assert_eq!(writer.publish_batch(batch.iter().map(|r| &r[..])), 3);
    let mut reader = BroadcastReader::attach_at(&path, 0).unwrap();
    let mut late = BroadcastReader::attach(&path).unwrap();
    assert_eq!(late.position(), 3, "attach starts at the end");
    drop(writer);
    let mut writer = BroadcastWriter::open_or_create(&path, RECORD, 64).unwrap();
    assert_eq!(writer.publish(&record(13)), 3);
    assert!(reader.writer_alive(Duration::from_secs(5)));
    let mut out = [0u8; RECORD];
    for (sequence, expected) in (0..4).zip(10..) {
        assert_eq!(reader.try_next(&mut out), Ok(Some(sequence)));
        assert_eq!(value(&out), expected);
    }
    assert_eq!(reader.try_next(&mut out), Ok(None));
    assert_eq!(late.try_next(&mut out), Ok(Some(3)));
}

/// Publishes `count` records; returns how long it took.
fn publish_run(writer: &mut BroadcastWriter, count: u64) -> Duration {
    let started = Instant::now();
    for value in 0..count {
        writer.publish(&record(value));
    }
    started.elapsed()
}

#[test]
fn a_slow_reader_is_lapped_told_and_never_slows_the_writer() {
    let (_guard, dir) = run_dir("pinwheel-ring-test-");
    std::fs::create_dir_all(&dir).unwrap();
    let path = output_path(&dir);
    let capacity = 1024;
    let mut writer = BroadcastWriter::open_or_create(&path, RECORD, capacity).unwrap();
    let laps = 50 * capacity as u64;
    let alone = (0..5)
        .map(|_| publish_run(&mut writer, laps))
        .min()
        .unwrap();
    let mut reader = BroadcastReader::attach(&path).unwrap();
    let start = reader.position();
    let mut out = [0u8; RECORD];
    assert_eq!(reader.try_next(&mut out), Ok(None));
    let watched = (0..5)
        .map(|_| publish_run(&mut writer, laps))
        .min()
        .unwrap();
    let error = reader.try_next(&mut out).unwrap_err();
    let end = writer.next_sequence();
    assert_eq!(
        error,
        Lapped {
            expected: start,
            oldest_available: end + 1 - capacity as u64
        }
    );
    assert_eq!(reader.lapped_count(), 1);
    let first = reader.try_next(&mut out).unwrap().unwrap();
    assert_eq!(first, end + 1 - capacity as u64);
    assert_eq!(
        value(&out),
        first % laps,
        "the record after a lap is the real one"
    );
    assert!(
        watched < alone * 3 + Duration::from_millis(50),
        "writer slowed by a reader: {alone:?} alone, {watched:?} watched"
    );
}

/// A tmpfs of `size` mounted in a fresh folder for the closure (root only); `None` when this
/// machine does not let the test mount one.
fn with_small_tmpfs<T>(size: &str, body: impl FnOnce(&Path) -> T) -> Option<T> {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        return None;
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(dir.path())));
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    Some(result.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
}

#[test]
fn a_ring_that_does_not_fit_its_tmpfs_is_an_error_not_a_crash() {
    let outcome = with_small_tmpfs("1m", |dir| {
        let path = output_path(dir);
        // 4 MiB of records on a 1 MiB tmpfs: touching the pages would SIGBUS the process.
        let Err(err) = BroadcastWriter::open_or_create(&path, RECORD, 1 << 15) else {
            panic!("a 4 MiB ring was made on a 1 MiB tmpfs");
        };
        let text = err.to_string();
        assert!(
            text.contains("reserve space") && text.contains("output"),
            "{text}"
        );
        assert!(
            !path.exists(),
            "no half-made ring is left for the next process"
        );
    });
    if outcome.is_none() {
        eprintln!("!!! SKIPPED a_ring_that_does_not_fit_its_tmpfs_is_an_error_not_a_crash: cannot mount a tmpfs here (needs root) !!!");
    }
}

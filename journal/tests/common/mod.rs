//! Helpers shared by the journal's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pinwheel_journal::{Durability, DurableCursor, JournalConfig, JournalWriter, JOURNAL_DIR};

/// Small segments so that tests cross many segment boundaries: 53 frames of 128 bytes each.
pub const TEST_SEGMENT_SIZE: u64 = 8192;
/// Every wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

/// A data directory with a run directory beside it.
pub struct TestDirs {
    pub root: tempfile::TempDir,
}

impl TestDirs {
    /// In a child process a crash test started: fresh directories under the folder named by
    /// the environment variable `env`; `None` when not started that way.
    pub fn for_child(env: &str) -> Option<Self> {
        let root = std::env::var(env).ok()?;
        Some(TestDirs {
            root: tempfile::TempDir::with_prefix_in("child", root).expect("child dir"),
        })
    }
    pub fn new() -> Self {
        TestDirs {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }
    pub fn journal(&self) -> PathBuf {
        self.data().join(JOURNAL_DIR)
    }
    pub fn run(&self) -> PathBuf {
        let run = self.root.path().join("run");
        std::fs::create_dir_all(&run).expect("run dir");
        run
    }
    pub fn config(&self, durability: Durability) -> JournalConfig {
        let mut config = JournalConfig::new(self.journal(), durability);
        config.segment_size = TEST_SEGMENT_SIZE;
        config.flush_interval = Duration::from_millis(2);
        config
    }
    pub fn open_writer(&self, durability: Durability, next_sequence: u64) -> JournalWriter {
        let cursor = DurableCursor::create(&self.run()).expect("cursor");
        JournalWriter::open(&self.config(durability), cursor, next_sequence).expect("writer")
    }
}

/// Starts this test binary again, running only the test `entry`, with the environment
/// variable `env` naming `root`; returns the child and the lines of its standard output.
pub fn spawn_child(
    entry: &str,
    env: &str,
    root: &Path,
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", entry, "--nocapture", "--test-threads=1"])
        .env(env, root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child test process");
    let stdout = child.stdout.take().expect("piped");
    (child, std::io::BufReader::new(stdout).lines())
}

/// The 128-byte payload of a sequence: recognisable, and different for every sequence.
pub fn payload_for(sequence: u64) -> [u8; 128] {
    let mut payload = [0u8; 128];
    for (i, chunk) in payload.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64).to_le_bytes(),
        );
    }
    payload
}

/// Timestamp used for a sequence.
pub fn timestamp_for(sequence: u64) -> u64 {
    1_700_000_000_000_000_000 + sequence * 1000
}

/// Appends `from..=to` (publishing every `batch`), then closes the writer.
pub fn write_frames(dirs: &TestDirs, from: u64, to: u64, batch: u64) {
    let mut writer = dirs.open_writer(Durability::Sync, from);
    for sequence in from..=to {
        writer.append(sequence, timestamp_for(sequence), &payload_for(sequence));
        if sequence % batch == 0 {
            writer.publish();
        }
    }
    writer.close().expect("clean close");
}

/// Reads every frame from `from` and checks payloads; returns the sequences seen.
pub fn read_all(journal: &Path, from: u64) -> Vec<u64> {
    let mut reader = pinwheel_journal::JournalReader::open(journal, from).expect("reader");
    let mut seen = Vec::new();
    while let Some(frame) = reader.next().expect("no damage") {
        assert_eq!(
            frame.payload,
            &payload_for(frame.sequence)[..],
            "payload of {}",
            frame.sequence
        );
        assert_eq!(frame.timestamp_ns, timestamp_for(frame.sequence));
        seen.push(frame.sequence);
    }
    seen
}

/// Segment files of the journal, oldest first.
pub fn segments(journal: &Path) -> Vec<PathBuf> {
    pinwheel_journal::list_segments(journal)
        .expect("segments")
        .into_iter()
        .map(|entry| entry.path)
        .collect()
}

/// Flips one bit of a file.
pub fn flip_bit(path: &Path, offset: u64, bit: u8) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 1 << bit;
    std::fs::write(path, bytes).expect("write");
}

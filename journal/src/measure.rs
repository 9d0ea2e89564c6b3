//! Measurements behind `pinwheel bench journal`: the device's own `fdatasync` latency, and the
//! latency sync durability adds to an acknowledgement (open loop, group commit).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memmap2::MmapOptions;

use crate::config::{Durability, JournalConfig};
use crate::durable_cursor::DurableCursor;
use crate::error::{IoContext, JournalError};
use crate::writer::JournalWriter;

/// Bytes dirtied before each sync: one 128-byte command in a frame, like the journal.
const FRAME_BYTES: usize = 152;
/// Size of the scratch file the fdatasync probe writes into.
const PROBE_FILE_SIZE: u64 = 4 * 1024 * 1024;
/// Upper bound of the histograms (60 s in ns).
const HISTOGRAM_MAX_NS: u64 = 60_000_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).expect("static bounds are valid")
}

/// The raw `fdatasync` latency of the device under `dir`: dirty one frame's worth of a mapped,
/// preallocated file, then time `fdatasync`, `samples` times. Returns nanoseconds.
pub fn measure_fdatasync(dir: &Path, samples: usize) -> Result<Histogram<u64>, JournalError> {
    std::fs::create_dir_all(dir).at(dir)?;
    let path = dir.join(format!(".fdatasync-probe-{}", std::process::id()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .at(&path)?;
    file.set_len(PROBE_FILE_SIZE).at(&path)?;
    // SAFETY: a private scratch file nobody else maps.
    let mut map = unsafe { MmapOptions::new().map_mut(&file) }.at(&path)?;
    map.fill(0);
    file.sync_data().at(&path)?;
    let mut latencies = histogram();
    let mut offset = 0usize;
    for sample in 0..samples {
        map[offset..offset + FRAME_BYTES].fill(sample as u8 | 1);
        offset = (offset + FRAME_BYTES) % (PROBE_FILE_SIZE as usize - FRAME_BYTES);
        let start = Instant::now();
        file.sync_data().at(&path)?;
        latencies.saturating_record(start.elapsed().as_nanos() as u64);
    }
    drop(map);
    std::fs::remove_file(&path).at(&path)?;
    Ok(latencies)
}

/// Open-loop acknowledgement latency in sync durability: frames are appended at planned times
/// `rate_per_sec` apart (`count` of them) into a fresh journal under `dir`; each latency runs from
/// the planned time to the moment the durable cursor covers the frame. Returns nanoseconds.
pub fn measure_sync_ack(
    dir: &Path,
    rate_per_sec: u64,
    count: usize,
) -> Result<Histogram<u64>, JournalError> {
    assert!(
        rate_per_sec > 0 && count > 0,
        "rate and count must be positive"
    );
    let journal_dir = dir.join(format!("sync-ack-{}", std::process::id()));
    let run_dir = journal_dir.join("run");
    std::fs::create_dir_all(&run_dir).at(&run_dir)?;
    let mut config = JournalConfig::new(journal_dir.join("journal"), Durability::Sync);
    config.segment_size = 64 * 1024 * 1024;
    let cursor = DurableCursor::create(&run_dir)?;
    let watcher = DurableCursor::open(&run_dir)?;
    let mut writer = JournalWriter::open(&config, cursor, 1)?;
    let gap = Duration::from_nanos(1_000_000_000 / rate_per_sec);
    let payload = [0x5au8; 128];
    let mut planned = vec![Instant::now(); count];
    let start = Instant::now() + Duration::from_millis(10);
    let mut latencies = histogram();
    let (mut sent, mut acked) = (0usize, 0usize);
    let deadline = start + gap * count as u32 + Duration::from_secs(30);
    while acked < count {
        assert!(
            Instant::now() < deadline,
            "sync acknowledgements stalled at {acked} of {count}"
        );
        let now = Instant::now();
        while sent < count && start + gap * sent as u32 <= now {
            planned[sent] = start + gap * sent as u32;
            writer.append(sent as u64 + 1, 0, &payload);
            sent += 1;
        }
        writer.publish();
        let durable = watcher.get().min(sent as u64) as usize;
        let now = Instant::now();
        while acked < durable {
            latencies.saturating_record(now.duration_since(planned[acked]).as_nanos() as u64);
            acked += 1;
        }
        std::hint::spin_loop();
    }
    writer.close()?;
    std::fs::remove_dir_all(&journal_dir).at(&journal_dir)?;
    Ok(latencies)
}

//! Measurements behind `pinwheel bench journal`: the device's own `fdatasync` latency, and the
//! latency sync durability adds to an acknowledgement (open loop, group commit).

use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memmap2::MmapOptions;

use crate::config::{Durability, JournalConfig};
use crate::durable_cursor::DurableCursor;
use crate::error::{IoContext, JournalError};
use crate::segment_file::create_private_file;
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
    let file = create_private_file(&path)?;
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

/// Warm-up: the preparer's first segment (allocation, metadata sync) is made before measuring.
fn wait_for_prepared_segment(journal_dir: &Path) -> Result<(), JournalError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while crate::segment_file::list_segments(journal_dir)?.len() < 2 {
        if Instant::now() >= deadline {
            return Err(JournalError::Background(
                "no segment prepared within 30 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
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
    wait_for_prepared_segment(&config.dir)?;
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
        // Sleep rather than spin: on a shared machine a spinning client starves the flusher.
        std::thread::sleep(Duration::from_micros(10));
    }
    writer.close()?;
    std::fs::remove_dir_all(&journal_dir).at(&journal_dir)?;
    Ok(latencies)
}

/// Journal-only figures for one run (no engine): what the journal itself costs.
#[derive(Clone, Debug)]
pub struct JournalThroughput {
    /// Durability the frames were written with.
    pub durability: Durability,
    /// Frames written (128-byte payloads).
    pub frames: u64,
    /// Appends per second on the writer thread, publishing once per batch.
    pub append_per_sec: u64,
    /// From the first append until the last frame was durable.
    pub until_durable: Duration,
    /// Time `recover` took over the whole journal.
    pub recover: Duration,
    /// Frames per second `replay` delivered (reading, CRC checking, calling back).
    pub replay_per_sec: u64,
}

fn per_sec(count: u64, elapsed: Duration) -> u64 {
    (count as u128 * 1_000_000_000 / elapsed.as_nanos().max(1)) as u64
}

/// Writes `frames` 128-byte frames into a fresh journal under `dir` (publishing every `batch`),
/// then times recovery and replay of it; removes the journal afterwards.
pub fn measure_throughput(
    dir: &Path,
    durability: Durability,
    frames: u64,
    batch: u64,
) -> Result<JournalThroughput, JournalError> {
    assert!(frames > 0 && batch > 0, "frames and batch must be positive");
    let root = dir.join(format!("throughput-{}-{durability}", std::process::id()));
    let run_dir = root.join("run");
    std::fs::create_dir_all(&run_dir).at(&run_dir)?;
    let config = JournalConfig::new(root.join("journal"), durability);
    let mut writer = JournalWriter::open(&config, DurableCursor::create(&run_dir)?, 1)?;
    let watcher = DurableCursor::open(&run_dir)?;
    let mut payload = [0x5au8; 128];
    let start = Instant::now();
    for sequence in 1..=frames {
        payload[..8].copy_from_slice(&sequence.to_le_bytes());
        writer.append(sequence, sequence, &payload);
        if sequence % batch == 0 {
            writer.publish();
        }
    }
    writer.publish();
    let appended = start.elapsed();
    if !watcher.wait_for(frames, Duration::from_secs(120)) {
        return Err(JournalError::Background(format!(
            "{frames} frames not durable within 120 s"
        )));
    }
    let until_durable = start.elapsed();
    writer.close()?;
    let started = Instant::now();
    crate::recovery::recover(&config.dir)?;
    let recover = started.elapsed();
    let started = Instant::now();
    let mut checksum = 0u64;
    let replayed = crate::replay::replay(&config.dir, 1, None, false, |frame| {
        checksum = checksum.wrapping_add(frame.payload[0] as u64)
    })?;
    let replay_time = started.elapsed();
    std::hint::black_box(checksum);
    std::fs::remove_dir_all(&root).at(&root)?;
    let replayed_all = durability == Durability::None || replayed == frames;
    assert!(replayed_all, "replayed {replayed} of {frames} frames");
    Ok(JournalThroughput {
        durability,
        frames,
        append_per_sec: per_sec(frames, appended),
        until_durable,
        recover,
        replay_per_sec: per_sec(replayed, replay_time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdatasync_probe_records_every_sample() {
        let dir = tempfile::tempdir().unwrap();
        let histogram = measure_fdatasync(dir.path(), 20).unwrap();
        assert_eq!(histogram.len(), 20);
        assert!(histogram.min() > 0);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "probe file removed"
        );
    }

    #[test]
    fn sync_ack_latency_counts_from_the_planned_time() {
        let dir = tempfile::tempdir().unwrap();
        let histogram = measure_sync_ack(dir.path(), 2000, 200).unwrap();
        assert_eq!(histogram.len(), 200);
        assert!(histogram.min() > 0);
    }

    #[test]
    fn throughput_run_replays_every_frame_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let figures = measure_throughput(dir.path(), Durability::Async, 5000, 16).unwrap();
        assert_eq!(figures.frames, 5000);
        assert!(figures.append_per_sec > 0 && figures.replay_per_sec > 0);
    }
}

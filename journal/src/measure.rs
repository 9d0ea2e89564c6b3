//! The device's own `fdatasync` latency, and the group-commit floor: the baselines `pinwheel
//! bench journal` compares the journal's sync acknowledgements with (those are measured
//! through the engine, in benches/).

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use memmap2::MmapOptions;

use crate::error::{IoContext, JournalError};
use crate::segment_file::{create_private_file, preallocate};

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

/// The best acknowledgement latency group commit can give on the device under `dir`, for
/// `count` arrivals planned `rate` per second apart. One thread does what the flusher does and
/// nothing else: it writes a frame for every arrival so far (`pwrite` into a preallocated
/// file, as the flusher copies into a segment), calls `fdatasync`, and records, for each
/// arrival that sync covered, the time from its planned arrival until the sync returned.
/// There is no engine and no hand-over between threads, so this is a floor for the journal's
/// sync acknowledgements; taken over the same span of time as the acknowledgement run, it
/// meets the device stalls a span that long meets (per-call `fdatasync` percentiles give a
/// stall one sample; here it delays every arrival behind it, as it does the engine's acks).
pub fn measure_group_commit(
    dir: &Path,
    rate: u64,
    count: usize,
) -> Result<Histogram<u64>, JournalError> {
    assert!(rate > 0 && count > 0, "a rate and arrivals to measure");
    std::fs::create_dir_all(dir).at(dir)?;
    let path = dir.join(format!(".group-commit-probe-{}", std::process::id()));
    let file = create_private_file(&path)?;
    let size = ((count * FRAME_BYTES) as u64).next_multiple_of(1 << 20);
    preallocate(&file, &path, size)?;
    file.sync_all().at(&path)?;
    let gap_ns = 1_000_000_000 / rate;
    let start = Instant::now() + Duration::from_millis(1);
    let planned = |index: usize| start + Duration::from_nanos(gap_ns * index as u64);
    let frames = vec![0xa5u8; FRAMES_PER_WRITE * FRAME_BYTES];
    let mut latencies = histogram();
    let mut synced = 0usize;
    while synced < count {
        let now = Instant::now();
        let arrived = match now.checked_duration_since(start) {
            Some(since) => count.min((since.as_nanos() / gap_ns as u128) as usize + 1),
            None => 0,
        };
        if arrived == synced {
            std::thread::yield_now();
            continue;
        }
        write_frames(&file, &path, &frames, synced, arrived)?;
        file.sync_data().at(&path)?;
        let done = Instant::now();
        for index in synced..arrived {
            latencies.saturating_record(done.duration_since(planned(index)).as_nanos() as u64);
        }
        synced = arrived;
    }
    std::fs::remove_file(&path).at(&path)?;
    Ok(latencies)
}

/// Frames one `pwrite` of the group-commit probe carries at most.
const FRAMES_PER_WRITE: usize = 256;

/// Writes the frames of arrivals `[from, to)` at their places in the probe file.
fn write_frames(
    file: &std::fs::File,
    path: &Path,
    frames: &[u8],
    from: usize,
    to: usize,
) -> Result<(), JournalError> {
    let mut next = from;
    while next < to {
        let n = (to - next).min(FRAMES_PER_WRITE);
        file.write_all_at(&frames[..n * FRAME_BYTES], (next * FRAME_BYTES) as u64)
            .at(path)?;
        next += n;
    }
    Ok(())
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
    fn group_commit_probe_covers_every_arrival_from_its_planned_time() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let histogram = measure_group_commit(dir.path(), 10_000, 500).unwrap();
        let took = started.elapsed();
        assert_eq!(histogram.len(), 500);
        // 500 arrivals 100 us apart span 50 ms: the probe cannot end before the last is due.
        assert!(took >= Duration::from_millis(50), "ended after {took:?}");
        // An arrival waits at least for one fdatasync, never longer than the whole run.
        assert!(histogram.min() > 0);
        assert!(histogram.max() <= took.as_nanos() as u64);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "probe file removed"
        );
    }
}

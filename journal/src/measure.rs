//! The device's own `fdatasync` latency, the baseline `pinwheel bench journal` compares the
//! journal's sync acknowledgements with (those are measured through the engine, in benches/).

use std::path::Path;
use std::time::Instant;

use hdrhistogram::Histogram;
use memmap2::MmapOptions;

use crate::error::{IoContext, JournalError};
use crate::segment_file::create_private_file;

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
}

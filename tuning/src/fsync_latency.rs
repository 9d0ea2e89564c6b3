//! Measures fdatasync latency in a directory, the way the journal flusher pays it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

/// Bytes appended before each fdatasync: one small group commit.
const WRITE_BYTES: usize = 4096;

/// fdatasync latencies measured in one directory.
#[derive(Clone, Debug, Serialize)]
pub struct FsyncLatency {
    /// The directory the probe file was written in.
    pub dir: PathBuf,
    /// How many fdatasyncs were timed.
    pub samples: usize,
    /// Median, nanoseconds.
    pub p50_ns: u64,
    /// Slowest, nanoseconds.
    pub max_ns: u64,
}

/// The nearest existing ancestor of `path` (the directory itself if it exists).
pub fn existing_ancestor(path: &Path) -> Option<PathBuf> {
    path.ancestors().find(|p| p.is_dir()).map(Path::to_path_buf)
}

/// Appends 4 KiB and calls fdatasync `samples` times in a probe file in `dir`, then
/// removes the file.
pub fn measure(dir: &Path, samples: usize) -> anyhow::Result<FsyncLatency> {
    assert!(samples > 0, "at least one sample");
    let probe = dir.join(format!(".pinwheel-fsync-probe-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&probe)
        .with_context(|| format!("cannot create a probe file in {}", dir.display()))?;
    let block = [0x5au8; WRITE_BYTES];
    let mut times = Vec::with_capacity(samples);
    let result = (|| -> anyhow::Result<()> {
        for _ in 0..samples {
            file.write_all(&block)?;
            let start = Instant::now();
            file.sync_data()?;
            times.push(start.elapsed().as_nanos() as u64);
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&probe);
    result.with_context(|| format!("fdatasync in {} failed", dir.display()))?;
    times.sort_unstable();
    Ok(FsyncLatency {
        dir: dir.to_path_buf(),
        samples,
        p50_ns: times[times.len() / 2],
        max_ns: *times.last().expect("samples > 0"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let latency = measure(dir.path(), 4).unwrap();
        assert_eq!(latency.samples, 4);
        assert!(latency.p50_ns > 0 && latency.p50_ns <= latency.max_ns);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_directories_fall_back_to_an_existing_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        assert_eq!(existing_ancestor(&deep).unwrap(), dir.path());
    }
}

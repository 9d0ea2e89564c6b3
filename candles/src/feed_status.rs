//! The feed's status file: how far QuestDB's candles are behind the engine. The feed
//! process writes its shipping cursor, lag and link state as Prometheus text to
//! `<run_dir>/feed.metrics` once a second; an edge that answers candles from QuestDB
//! appends that file to its `/metrics`. Both sides find the file here.

use std::path::{Path, PathBuf};

/// Name of the metrics file in the run directory.
pub const METRICS_FILE: &str = "feed.metrics";

/// Where the feed writes its metrics.
pub fn metrics_path(run_dir: &Path) -> PathBuf {
    run_dir.join(METRICS_FILE)
}

/// The feed's last metrics text, for an edge's `/metrics` (None when no feed runs).
pub fn read_metrics(run_dir: &Path) -> Option<String> {
    std::fs::read_to_string(metrics_path(run_dir)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_lives_in_the_run_directory_and_is_absent_without_a_feed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(metrics_path(dir.path()), dir.path().join("feed.metrics"));
        assert_eq!(read_metrics(dir.path()), None);
        std::fs::write(metrics_path(dir.path()), "pinwheel_feed_lag_ms 0\n").unwrap();
        assert_eq!(
            read_metrics(dir.path()).as_deref(),
            Some("pinwheel_feed_lag_ms 0\n")
        );
    }
}

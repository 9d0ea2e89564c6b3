//! What the feed reports about itself: shipping cursor, lag, QuestDB link state. The feed
//! process writes it as Prometheus text to the status file ([`pinwheel_candles::feed_status`])
//! once a second; edges append that file to their `/metrics`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

use pinwheel_candles::feed_status::metrics_path;

/// Counters and gauges shared between the shipping loop and whoever reports them.
#[derive(Debug, Default)]
pub struct FeedStatus {
    /// Highest trade id QuestDB acknowledged.
    pub shipped_trade_id: AtomicU64,
    /// Sequence of that trade.
    pub shipped_sequence: AtomicU64,
    /// Engine time (ns) of the oldest trade read but not yet acknowledged; 0 when none.
    pub oldest_unshipped_ns: AtomicU64,
    /// Highest engine sequence the feed has read (ring or journal).
    pub seen_sequence: AtomicU64,
    /// 1 while QuestDB accepts writes, 0 while it does not.
    pub questdb_up: AtomicU64,
    /// Trades acknowledged by QuestDB since start.
    pub shipped_total: AtomicU64,
    /// Failed flush attempts since start.
    pub flush_failures_total: AtomicU64,
    /// Times the feed was lapped by the engine's output ring and caught up from the journal.
    pub laps_total: AtomicU64,
}

impl FeedStatus {
    /// Milliseconds between now and the oldest trade not yet in QuestDB (0 when caught up).
    pub fn lag_ms(&self) -> u64 {
        let oldest = self.oldest_unshipped_ns.load(Relaxed);
        if oldest == 0 {
            return 0;
        }
        now_ns().saturating_sub(oldest) / 1_000_000
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, u64); 8] = [
            (
                "pinwheel_feed_lag_ms",
                "gauge",
                "age of the oldest trade not yet in QuestDB",
                self.lag_ms(),
            ),
            (
                "pinwheel_feed_questdb_up",
                "gauge",
                "1 while QuestDB accepts writes",
                self.questdb_up.load(Relaxed),
            ),
            (
                "pinwheel_feed_shipped_trade_id",
                "gauge",
                "highest trade id acknowledged by QuestDB",
                self.shipped_trade_id.load(Relaxed),
            ),
            (
                "pinwheel_feed_shipped_sequence",
                "gauge",
                "engine sequence of that trade",
                self.shipped_sequence.load(Relaxed),
            ),
            (
                "pinwheel_feed_seen_sequence",
                "gauge",
                "highest engine sequence read",
                self.seen_sequence.load(Relaxed),
            ),
            (
                "pinwheel_feed_shipped_trades_total",
                "counter",
                "trades acknowledged since start",
                self.shipped_total.load(Relaxed),
            ),
            (
                "pinwheel_feed_flush_failures_total",
                "counter",
                "failed flushes since start",
                self.flush_failures_total.load(Relaxed),
            ),
            (
                "pinwheel_feed_laps_total",
                "counter",
                "catch-ups from the journal after a lap",
                self.laps_total.load(Relaxed),
            ),
        ];
        let mut text = String::new();
        for (name, kind, help, value) in rows {
            text.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        text
    }

    /// Writes [`Self::render`] to the status file in `run_dir` atomically (write, then rename).
    pub fn write_to(&self, run_dir: &Path) -> std::io::Result<()> {
        let path = metrics_path(run_dir);
        let temporary = path.with_extension("metrics.tmp");
        std::fs::write(&temporary, self.render())?;
        std::fs::rename(&temporary, &path)
    }
}

/// Wall-clock nanoseconds since the epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_candles::feed_status::read_metrics;

    #[test]
    fn lag_counts_from_the_oldest_unshipped_trade() {
        let status = FeedStatus::default();
        assert_eq!(status.lag_ms(), 0);
        status
            .oldest_unshipped_ns
            .store(now_ns() - 2_000_000_000, Relaxed);
        assert!((2_000..3_000).contains(&status.lag_ms()));
        let dir = tempfile::tempdir().unwrap();
        status.write_to(dir.path()).unwrap();
        let text = read_metrics(dir.path()).unwrap();
        assert!(text.contains("pinwheel_feed_lag_ms 2"), "{text}");
        assert!(text.contains("pinwheel_feed_questdb_up 0"));
    }
}

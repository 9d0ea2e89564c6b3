//! `[feed]` in the configuration file: where QuestDB is, where the rings and the journal are,
//! how trades are batched.

use std::path::PathBuf;
use std::time::Duration;

use pinwheel_engine::config::EngineConfig;
use serde::{Deserialize, Serialize};

use pinwheel_candles::questdb_candles::DEFAULT_TABLE;

/// The feed's configuration (every key optional).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// QuestDB's HTTP address, e.g. `http://127.0.0.1:9000`. None: no feed process is needed;
    /// the edges keep the embedded candle store.
    pub questdb: Option<String>,
    /// Table the trades go to.
    pub table: String,
    /// Run directory holding the engine's `output` ring.
    pub run_dir: PathBuf,
    /// Data directory holding `journal/` and `snapshots/`.
    pub data_dir: PathBuf,
    /// Wait strategy while the ring is empty: `spin`, `spin-yield` or `backoff`.
    pub wait: String,
    /// A batch is sent when it holds this many trades ...
    pub batch_rows: usize,
    /// ... or when its oldest trade has waited this many milliseconds.
    pub batch_interval_ms: u64,
    /// Markets and capacities, as the engine has them (the feed replays the journal through
    /// its own engine to catch up). Not part of `[feed]`: the CLI copies the engine's.
    #[serde(skip)]
    pub engine: EngineConfig,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            questdb: None,
            table: DEFAULT_TABLE.to_string(),
            run_dir: pinwheel_ring::default_run_dir("default"),
            data_dir: PathBuf::from("data"),
            wait: "park".to_string(),
            batch_rows: 10_000,
            batch_interval_ms: 100,
            engine: EngineConfig::default(),
        }
    }
}

impl FeedConfig {
    /// The batching interval.
    pub fn batch_interval(&self) -> Duration {
        Duration::from_millis(self.batch_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_are_refused() {
        let config: FeedConfig =
            serde_json::from_str(r#"{"questdb": "http://127.0.0.1:9000", "batch_rows": 500}"#)
                .unwrap();
        assert_eq!(config.questdb.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(config.batch_rows, 500);
        assert_eq!(config.table, "trades");
        assert_eq!(config.batch_interval(), Duration::from_millis(100));
        let error = serde_json::from_str::<FeedConfig>(r#"{"questdbb": "x"}"#).unwrap_err();
        assert!(error.to_string().contains("questdbb"), "{error}");
    }
}

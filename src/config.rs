//! The configuration file (TOML, every key optional) and the flags that override it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use pinwheel_engine::config::{EngineConfig, MarketTable};
use pinwheel_engine::hot_loop::HotLoopConfig;
use pinwheel_journal::{Durability, Retention};
use pinwheel_ring::WaitStrategy;
use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Instance name; the default run directory is `/dev/shm/pinwheel-<instance>`.
    pub instance: String,
    /// Run directory (rings, durable cursor, counters).
    pub run_dir: Option<PathBuf>,
    /// Data directory (journal, snapshots, secrets).
    pub data_dir: PathBuf,
    /// Wait strategy of every process: spin, spin-yield, backoff, park.
    pub wait: String,
    /// Journal durability: none, async, sync.
    pub durability: String,
    /// QuestDB HTTP address; none means the embedded candle store.
    pub questdb: Option<String>,
    /// Markets, assets, capacities.
    pub engine: EngineConfig,
    /// Journal and snapshot settings.
    pub journal: JournalSection,
    /// Core pinning.
    pub pinning: Pinning,
    /// Gateway settings (`[edge]`); directories, wait, durability and markets come from the top level.
    pub edge: pinwheel_edge::EdgeConfig,
    /// Feed settings (`[feed]`); directories, wait and markets come from the top level.
    pub feed: pinwheel_feed::FeedConfig,
    /// `pinwheel up` settings.
    pub up: UpSection,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            instance: "default".into(),
            run_dir: None,
            data_dir: PathBuf::from("pinwheel-data"),
            wait: "park".into(),
            durability: "sync".into(),
            questdb: None,
            engine: EngineConfig::default(),
            journal: JournalSection::default(),
            pinning: Pinning::default(),
            edge: pinwheel_edge::EdgeConfig::default(),
            feed: pinwheel_feed::FeedConfig::default(),
            up: UpSection::default(),
        }
    }
}

/// `[journal]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalSection {
    /// Segment size in MiB.
    pub segment_mib: u64,
    /// Flush period in `async` durability, milliseconds.
    pub flush_interval_ms: u64,
    /// Segments wholly before the newest snapshot: keep, delete or archive.
    pub retention: String,
    /// The follower writes a snapshot every this many commands.
    pub snapshot_every: u64,
}

impl Default for JournalSection {
    fn default() -> Self {
        Self {
            segment_mib: 64,
            flush_interval_ms: 2,
            retention: "keep".into(),
            snapshot_every: 1_000_000,
        }
    }
}

/// `[pinning]`: which core each thread runs on (none = unpinned).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pinning {
    /// The engine thread.
    pub engine_core: Option<usize>,
    /// The journal flusher thread.
    pub flusher_core: Option<usize>,
    /// Edge processes, in order.
    pub edge_cores: Vec<usize>,
    /// The feed process.
    pub feed_core: Option<usize>,
}

/// `[up]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpSection {
    /// Number of edge processes.
    pub edges: u16,
    /// Port of the first edge; the others take the next ports.
    pub port: u16,
    /// Create demo users and run the market maker.
    pub demo: bool,
}

impl Default for UpSection {
    fn default() -> Self {
        Self {
            edges: 1,
            port: 8080,
            demo: false,
        }
    }
}

/// Flags every process takes; they override the file.
#[derive(Args, Clone, Debug, Default)]
pub struct CommonArgs {
    /// Configuration file (TOML); all keys optional (PINWHEEL_CONFIG, or `--config` before
    /// the subcommand, when not given here).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory: journal, snapshots, secrets.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Run directory: rings and shared counters (default /dev/shm/pinwheel-<instance>).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Wait strategy: spin, spin-yield, backoff or park.
    #[arg(long)]
    pub wait: Option<String>,
    /// Journal durability: none, async or sync.
    #[arg(long)]
    pub durability: Option<String>,
}

impl Config {
    /// Reads the file named by the flags (if any) and applies the flags over it.
    pub fn load(common: &CommonArgs) -> anyhow::Result<Self> {
        let mut config = match &common.config {
            Some(path) => Self::read(path)?,
            None => Self::default(),
        };
        if let Some(dir) = &common.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(dir) = &common.run_dir {
            config.run_dir = Some(dir.clone());
        }
        if let Some(wait) = &common.wait {
            config.wait = wait.clone();
        }
        if let Some(durability) = &common.durability {
            config.durability = durability.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config {}", path.display()))
    }

    /// Checks every value that a process would otherwise trip over later.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.wait_strategy()?;
        self.durability_mode()?;
        self.retention()?;
        MarketTable::resolve(&self.engine).context("config [engine]")?;
        anyhow::ensure!(self.up.edges >= 1, "config [up] edges must be at least 1");
        Ok(())
    }

    /// The run directory, defaulting from the instance name.
    pub fn run_dir(&self) -> PathBuf {
        self.run_dir
            .clone()
            .unwrap_or_else(|| pinwheel_ring::default_run_dir(&self.instance))
    }

    /// The parsed wait strategy.
    pub fn wait_strategy(&self) -> anyhow::Result<WaitStrategy> {
        self.wait.parse().map_err(|_| {
            anyhow::anyhow!(
                "wait must be spin, spin-yield, backoff or park, not {:?}",
                self.wait
            )
        })
    }

    /// The parsed durability.
    pub fn durability_mode(&self) -> anyhow::Result<Durability> {
        self.durability.parse().map_err(|_| {
            anyhow::anyhow!(
                "durability must be none, async or sync, not {:?}",
                self.durability
            )
        })
    }

    fn retention(&self) -> anyhow::Result<Retention> {
        match self.journal.retention.as_str() {
            "keep" => Ok(Retention::Keep),
            "delete" => Ok(Retention::Delete),
            "archive" => Ok(Retention::Archive),
            other => {
                anyhow::bail!("journal.retention must be keep, delete or archive, not {other:?}")
            }
        }
    }

    /// The engine process's settings.
    pub fn hot_loop(&self) -> anyhow::Result<HotLoopConfig> {
        let mut hot = HotLoopConfig::new(self.run_dir(), self.data_dir.clone());
        hot.wait = self.wait_strategy()?;
        hot.durability = self.durability_mode()?;
        hot.engine_core = self.pinning.engine_core;
        hot.flusher_core = self.pinning.flusher_core;
        hot.segment_size = self.journal.segment_mib.max(1) << 20;
        hot.flush_interval = Duration::from_millis(self.journal.flush_interval_ms.max(1));
        hot.retention = self.retention()?;
        Ok(hot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_and_flags_override() {
        let config: Config = toml::from_str("").unwrap();
        assert_eq!(config.wait, "park");
        let common = CommonArgs {
            wait: Some("spin".into()),
            durability: Some("async".into()),
            ..Default::default()
        };
        let dir = std::env::temp_dir().join(format!("pinwheel-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.toml");
        std::fs::write(&path, "wait = \"spin-yield\"\n[up]\nedges = 2\n").unwrap();
        let loaded = Config::load(&CommonArgs {
            config: Some(path),
            ..common
        })
        .unwrap();
        assert_eq!(loaded.wait, "spin");
        assert_eq!(loaded.durability, "async");
        assert_eq!(loaded.up.edges, 2);
    }

    #[test]
    fn bad_values_are_named() {
        let bad: Result<Config, _> = toml::from_str("colour = 1");
        assert!(bad.unwrap_err().to_string().contains("colour"));
        let config = Config {
            wait: "sleepy".into(),
            ..Config::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("sleepy"));
    }
}

//! The edge's configuration: the `[edge]` section of the TOML file, every key optional.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use pinwheel_engine::config::EngineConfig;
use pinwheel_ring::WaitStrategy;
use serde::{Deserialize, Serialize};

/// When an answer may be released to a client, relative to the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// No journal (benchmarks only): release at once.
    None,
    /// Release at once; the journal catches up in the background.
    Async,
    /// Release only once the command's sequence is durable.
    Sync,
}

impl Durability {
    /// Parses `none`, `async` or `sync`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match text {
            "none" => Ok(Self::None),
            "async" => Ok(Self::Async),
            "sync" => Ok(Self::Sync),
            other => anyhow::bail!("durability {other:?}: expected none, async or sync"),
        }
    }
}

/// Closed orders kept per user unless `edge.order_retention` says otherwise.
pub const DEFAULT_ORDER_RETENTION: usize = 10_000;

/// Everything an edge process needs. `Default` runs with no config file at all.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// TCP port for HTTP and WebSocket.
    pub port: u16,
    /// Address to bind.
    pub bind: IpAddr,
    /// Where the rings live (shared memory).
    pub run_dir: PathBuf,
    /// Where the JWT secret file lives (shared by every edge and restart).
    pub data_dir: PathBuf,
    /// How the output reader waits for events: `spin`, `spin-yield` or `backoff`.
    #[serde(with = "wait_name")]
    pub wait: WaitStrategy,
    /// `none`, `async` or `sync`.
    pub durability: String,
    /// HMAC secret for tokens; when absent, `<data_dir>/jwt.secret` is read or created.
    pub jwt_secret: Option<String>,
    /// How long a token from sign-in or sign-up stays valid.
    #[serde(with = "seconds")]
    pub token_ttl: Duration,
    /// Whether any signed-in user may deposit (paper trading); otherwise admin API keys only.
    pub public_deposits: bool,
    /// Requests per second allowed per authenticated user (burst = 2 seconds' worth).
    pub rate_limit_per_user: u32,
    /// Requests per second allowed per client IP address.
    pub rate_limit_per_ip: u32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a request may wait for the engine before it is answered 503.
    #[serde(with = "millis")]
    pub request_timeout: Duration,
    /// How old the engine's heartbeat may be before the edge calls it stopped.
    #[serde(with = "millis")]
    pub engine_max_age: Duration,
    /// How long to wait for the rings to appear at start-up.
    #[serde(with = "millis")]
    pub attach_timeout: Duration,
    /// Messages queued for one WebSocket client before it is closed as too slow.
    pub ws_buffer: usize,
    /// Public trades kept per market for `/trades`.
    pub recent_trades: usize,
    /// Closed orders kept per user for `/order/{id}` and `/orders/history` (open orders are
    /// always kept); a lookup of an older one answers `ORDER_ARCHIVED`.
    pub order_retention: usize,
    /// QuestDB address for candles (through the feed's query code), if any.
    pub questdb: Option<String>,
    /// Markets and assets (the engine's own table; the edge converts decimals with it).
    pub engine: EngineConfig,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            port: 8080,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            run_dir: PathBuf::from("/dev/shm/pinwheel-default"),
            data_dir: PathBuf::from("data"),
            wait: WaitStrategy::Park,
            durability: "async".into(),
            jwt_secret: None,
            token_ttl: Duration::from_secs(24 * 3600),
            public_deposits: true,
            rate_limit_per_user: 1000,
            rate_limit_per_ip: 2000,
            max_body_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(5),
            engine_max_age: Duration::from_secs(2),
            attach_timeout: Duration::from_secs(10),
            ws_buffer: 1024,
            recent_trades: 1000,
            order_retention: DEFAULT_ORDER_RETENTION,
            questdb: None,
            engine: EngineConfig::default(),
        }
    }
}

mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

mod wait_name {
    use pinwheel_ring::WaitStrategy;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &WaitStrategy, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WaitStrategy, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_survive_a_round_trip_and_partial_sections() {
        let config = EdgeConfig::default();
        let text = serde_json::to_string(&config).unwrap();
        let back: EdgeConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back.port, config.port);
        assert_eq!(back.request_timeout, config.request_timeout);
        let partial: EdgeConfig =
            serde_json::from_str(r#"{"port": 9000, "wait": "spin"}"#).unwrap();
        assert_eq!(partial.wait, WaitStrategy::Spin);
        assert!(serde_json::from_str::<EdgeConfig>(r#"{"wait": "nap"}"#).is_err());
        assert_eq!(partial.port, 9000);
        assert_eq!(partial.max_body_bytes, config.max_body_bytes);
        assert!(serde_json::from_str::<EdgeConfig>(r#"{"prot": 1}"#).is_err());
    }

    #[test]
    fn durability_names_parse() {
        assert_eq!(Durability::parse("sync").unwrap(), Durability::Sync);
        assert!(Durability::parse("fast").is_err());
    }
}

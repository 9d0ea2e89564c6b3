//! Unit-test helpers: an `AppState` whose engine side records commands and never answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinwheel_engine::config::MarketTable;

use crate::config::EdgeConfig;
use crate::link::{EngineLink, InputSink};
use crate::market_data::MarketData;
use crate::metrics::Metrics;
use crate::sessions::auth::Tokens;
use crate::sessions::rate_limit::RateLimiter;
use crate::state::AppState;

/// Keeps every pushed record; the engine is "alive" while `alive` is true.
pub struct RecordingSink {
    pub pushed: Arc<Mutex<Vec<Vec<u8>>>>,
    pub alive: bool,
    pub full: bool,
}

impl InputSink for RecordingSink {
    fn try_push(&mut self, record: &[u8]) -> bool {
        if self.full {
            return false;
        }
        self.pushed.lock().unwrap().push(record.to_vec());
        true
    }
    fn engine_alive(&self) -> bool {
        self.alive
    }
    fn heartbeat(&mut self) {}
    fn edge_id(&self) -> u16 {
        3
    }
    fn ensure_attached(&mut self) -> bool {
        true
    }
}

/// A state over a [`RecordingSink`] with the default markets.
pub fn state_with(sink: RecordingSink, config: EdgeConfig) -> Arc<AppState> {
    let table = MarketTable::resolve(&config.engine).unwrap();
    let market_data = Arc::new(MarketData::new(&table, 100, 100));
    let candles = pinwheel_candles::CandleSource::Embedded(market_data.candles().clone());
    let link = EngineLink::new(Box::new(sink), Duration::from_millis(200), market_data, 100);
    Arc::new(AppState {
        candles,
        tokens: Tokens::new(b"unit-test-secret-0123456789", Duration::from_secs(60)),
        user_limits: RateLimiter::new(config.rate_limit_per_user),
        ip_limits: RateLimiter::new(config.rate_limit_per_ip),
        api_keys: Mutex::new(HashMap::new()),
        metrics: Metrics::default(),
        engine_counters: Mutex::new(None),
        table,
        link,
        config,
    })
}

/// A state whose engine is alive and never answers.
pub fn test_state() -> Arc<AppState> {
    let sink = RecordingSink {
        pushed: Arc::default(),
        alive: true,
        full: false,
    };
    state_with(sink, EdgeConfig::default())
}

//! pinwheel-edge: the REST + WebSocket gateway. Parses and checks requests, turns them into
//! fixed-size engine commands on this edge's input ring, completes each request when its
//! `Done` event comes back on the output ring, and serves market data and private streams.

pub mod api;
pub mod config;
pub mod link;
pub mod market_data;
pub mod metrics;
pub mod operator;
pub mod owners;
pub mod ring_io;
mod run;
pub mod server;
pub mod sessions;
pub mod state;
pub mod units;

#[cfg(test)]
mod test_support;

/// Helpers for this crate's integration tests (an edge with no engine behind it).
#[doc(hidden)]
pub mod test_support_public {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use pinwheel_engine::config::MarketTable;

    use crate::link::{EngineLink, InputSink};
    use crate::state::AppState;

    struct NoEngine;

    impl InputSink for NoEngine {
        fn try_push(&mut self, _: &[u8]) -> bool {
            false
        }
        fn engine_alive(&self) -> bool {
            false
        }
        fn heartbeat(&mut self) {}
        fn edge_id(&self) -> u16 {
            0
        }
        fn ensure_attached(&mut self) -> bool {
            true
        }
    }

    /// Edge state with the default markets, no engine, and `ws_buffer` queued messages per client.
    pub fn state_without_engine(ws_buffer: usize) -> Arc<AppState> {
        let config = crate::EdgeConfig {
            ws_buffer,
            ..Default::default()
        };
        let table = MarketTable::resolve(&config.engine).expect("default markets resolve");
        let market_data = Arc::new(crate::market_data::MarketData::new(&table, 100, 100));
        Arc::new(AppState {
            candles: pinwheel_candles::CandleSource::Embedded(market_data.candles().clone()),
            link: EngineLink::new(
                Box::new(NoEngine),
                Duration::from_millis(100),
                market_data,
                100,
            ),
            tokens: crate::sessions::auth::Tokens::new(
                b"integration-test-secret",
                Duration::from_secs(60),
            ),
            user_limits: crate::sessions::rate_limit::RateLimiter::new(0),
            ip_limits: crate::sessions::rate_limit::RateLimiter::new(0),
            api_keys: Mutex::new(HashMap::new()),
            metrics: crate::metrics::Metrics::default(),
            engine_counters: Mutex::new(None),
            table,
            config,
        })
    }
}

pub use config::EdgeConfig;
pub use pinwheel_ring::WaitStrategy;
pub use run::{run, run_until};

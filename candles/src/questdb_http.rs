//! QuestDB's HTTP `/exec` endpoint: SQL in, a JSON table out (blocking; the async query
//! API runs it on tokio's blocking pool).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{CandleError, Result};

/// Longest a single SQL request may take.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one QuestDB's `/exec`.
#[derive(Clone, Debug)]
pub struct QuestDbHttp {
    base_url: String,
    agent: ureq::Agent,
}

/// Rows of a query answer; each value is a JSON scalar (numbers, strings, null).
#[derive(Debug, Deserialize)]
pub struct ExecAnswer {
    /// Rows in column order.
    #[serde(default)]
    pub dataset: Vec<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct ExecError {
    error: String,
}

impl QuestDbHttp {
    /// A client for `base_url` such as `http://127.0.0.1:9000`.
    pub fn new(base_url: &str) -> Result<Self> {
        let base_url = base_url.trim_end_matches('/').to_string();
        if !base_url.starts_with("http://") {
            return Err(CandleError::QuestDb(format!(
                "address {base_url:?} must start with http://"
            )));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(EXEC_TIMEOUT))
            .http_status_as_error(false)
            .build();
        Ok(Self {
            base_url,
            agent: config.into(),
        })
    }

    /// The server's address as given.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `host:port` for the ILP sender's configuration string.
    pub fn host_port(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }

    /// True when the server answers `/ping`.
    pub fn ping(&self) -> bool {
        self.agent
            .get(format!("{}/ping", self.base_url))
            .call()
            .is_ok_and(|response| response.status().is_success())
    }

    /// Runs one SQL statement and returns its rows (DDL returns none).
    pub fn exec(&self, sql: &str) -> Result<ExecAnswer> {
        let url = format!("{}/exec", self.base_url);
        let mut response = self
            .agent
            .get(&url)
            .query("query", sql)
            .call()
            .map_err(|e| CandleError::QuestDb(format!("{url}: {e}")))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| CandleError::QuestDb(format!("{url}: reading the answer: {e}")))?;
        if !status.is_success() {
            let message = serde_json::from_str::<ExecError>(&body)
                .map(|e| e.error)
                .unwrap_or(body);
            return Err(CandleError::QuestDb(format!(
                "{status} for `{sql}`: {message}"
            )));
        }
        serde_json::from_str(&body)
            .map_err(|e| CandleError::QuestDb(format!("unreadable answer to `{sql}`: {e}")))
    }
}

/// Reads an integer cell (`null` -> `None`); decimals arrive as strings.
pub fn cell_i128(row: &[Value], index: usize) -> Result<Option<i128>> {
    match row.get(index) {
        Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(|n| Some(n as i128))
            .ok_or_else(|| bad_cell(row, index)),
        Some(Value::String(text)) => text
            .parse::<i128>()
            .map(Some)
            .map_err(|_| bad_cell(row, index)),
        _ => Err(bad_cell(row, index)),
    }
}

/// Reads an integer cell that fits `i64`.
pub fn cell_i64(row: &[Value], index: usize) -> Result<Option<i64>> {
    cell_i128(row, index)?
        .map(|n| i64::try_from(n).map_err(|_| bad_cell(row, index)))
        .transpose()
}

fn bad_cell(row: &[Value], index: usize) -> CandleError {
    CandleError::QuestDb(format!("column {index} of row {row:?} is not an integer"))
}

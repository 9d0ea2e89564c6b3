//! The error of candle and ticker queries and of talking to QuestDB: each variant has a
//! stable code the edge can return.

/// What went wrong in a candle/ticker query or in a QuestDB request.
#[derive(Debug, thiserror::Error)]
pub enum CandleError {
    /// The interval text is not one of 1m, 5m, 15m, 1h, 4h, 1d, 1w.
    #[error("unknown interval {0:?}: use one of 1m, 5m, 15m, 1h, 4h, 1d, 1w")]
    UnknownInterval(String),
    /// The market symbol has characters a symbol never has.
    #[error("invalid market symbol {0:?}")]
    InvalidMarket(String),
    /// limit, start or end make no sense.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// The QuestDB table name is not a plain identifier.
    #[error("invalid table name {0:?}: use letters, digits and '_'")]
    InvalidTable(String),
    /// QuestDB could not be reached or answered with an error.
    #[error("QuestDB: {0}")]
    QuestDb(String),
    /// The embedded store does not hold the data the question needs.
    #[error("embedded candle store: {0}")]
    NotRetained(String),
}

impl CandleError {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownInterval(_) => "UNKNOWN_INTERVAL",
            Self::InvalidMarket(_) => "INVALID_MARKET",
            Self::InvalidRange(_) => "INVALID_RANGE",
            Self::InvalidTable(_) => "INVALID_TABLE",
            Self::QuestDb(_) => "CANDLES_UNAVAILABLE",
            Self::NotRetained(_) => "CANDLES_NOT_RETAINED",
        }
    }

    /// True when the caller's input was wrong (HTTP 400), false when the server was (503).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::UnknownInterval(_)
                | Self::InvalidMarket(_)
                | Self::InvalidRange(_)
                | Self::NotRetained(_)
        )
    }
}

/// Result with [`CandleError`].
pub type Result<T> = std::result::Result<T, CandleError>;

/// Refuses symbols that could not be a market (they are spliced into SQL text).
pub fn check_symbol(symbol: &str) -> Result<()> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 32
        && symbol
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CandleError::InvalidMarket(symbol.to_string()))
    }
}

/// Refuses table names that are not plain identifiers.
pub fn check_table(table: &str) -> Result<()> {
    let ok = !table.is_empty()
        && table.len() <= 64
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !table.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(CandleError::InvalidTable(table.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_with_sql_are_refused() {
        assert!(check_symbol("BTC-USD").is_ok());
        let error = check_symbol("BTC' OR 1=1 --").unwrap_err();
        assert_eq!(error.code(), "INVALID_MARKET");
        assert!(check_symbol("").is_err());
        assert!(check_table("trades").is_ok());
        assert!(check_table("1trades").is_err());
        assert!(check_table("tr;ades").is_err());
    }
}

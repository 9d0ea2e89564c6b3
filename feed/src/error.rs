//! The feed's error: a QuestDB or query error (with its stable code), or a stop request.

use pinwheel_candles::CandleError;

/// What went wrong while shipping.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// QuestDB refused, failed or could not be reached; a table name was not valid.
    #[error(transparent)]
    Candles(#[from] CandleError),
    /// The process was asked to stop while waiting.
    #[error("stopped")]
    Stopped,
}

impl FeedError {
    /// A QuestDB error with this text.
    pub fn questdb(text: String) -> Self {
        Self::Candles(CandleError::QuestDb(text))
    }

    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Candles(error) => error.code(),
            Self::Stopped => "STOPPED",
        }
    }
}

/// Result with [`FeedError`].
pub type Result<T> = std::result::Result<T, FeedError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_candle_error_or_say_stopped() {
        assert_eq!(
            FeedError::questdb("down".into()).code(),
            "CANDLES_UNAVAILABLE"
        );
        assert_eq!(FeedError::Stopped.code(), "STOPPED");
        let table: FeedError = pinwheel_candles::error::check_table("1x")
            .unwrap_err()
            .into();
        assert_eq!(table.code(), "INVALID_TABLE");
    }
}

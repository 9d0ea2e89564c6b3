//! Kline intervals and their calendar alignment (UTC; weeks start on Monday, as in QuestDB's
//! `ALIGN TO CALENDAR` and in Binance's API).

use crate::error::CandleError;

const MINUTE_MS: i64 = 60_000;
/// 1970-01-01 was a Thursday; the first Monday is four days later.
const FIRST_MONDAY_MS: i64 = 4 * 24 * 60 * MINUTE_MS;

/// A kline interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    /// One minute.
    M1,
    /// Five minutes.
    M5,
    /// Fifteen minutes.
    M15,
    /// One hour.
    H1,
    /// Four hours (aligned to midnight UTC).
    H4,
    /// One day (midnight UTC).
    D1,
    /// One week (Monday 00:00 UTC).
    W1,
}

/// name, QuestDB `SAMPLE BY` unit, length in minutes.
const TABLE: [(Interval, &str, i64); 7] = [
    (Interval::M1, "1m", 1),
    (Interval::M5, "5m", 5),
    (Interval::M15, "15m", 15),
    (Interval::H1, "1h", 60),
    (Interval::H4, "4h", 240),
    (Interval::D1, "1d", 1_440),
    (Interval::W1, "1w", 10_080),
];

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 7] = [
        Self::M1,
        Self::M5,
        Self::M15,
        Self::H1,
        Self::H4,
        Self::D1,
        Self::W1,
    ];

    fn row(self) -> &'static (Interval, &'static str, i64) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .expect("every interval is in the table")
    }

    /// The interval's name, which is also its QuestDB `SAMPLE BY` unit: `1m` .. `1w`.
    pub fn as_str(self) -> &'static str {
        self.row().1
    }

    /// Length in milliseconds.
    pub fn millis(self) -> i64 {
        self.row().2 * MINUTE_MS
    }

    /// Start of the bucket that holds `time_ms`.
    pub fn align(self, time_ms: i64) -> i64 {
        let origin = if self == Self::W1 { FIRST_MONDAY_MS } else { 0 };
        origin + (time_ms - origin).div_euclid(self.millis()) * self.millis()
    }
}

impl std::str::FromStr for Interval {
    type Err = CandleError;

    fn from_str(text: &str) -> Result<Self, CandleError> {
        TABLE
            .iter()
            .find(|row| row.1 == text)
            .map(|row| row.0)
            .ok_or_else(|| CandleError::UnknownInterval(text.to_string()))
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for interval in Interval::ALL {
            assert_eq!(interval.as_str().parse::<Interval>().unwrap(), interval);
        }
        let error = "3m".parse::<Interval>().unwrap_err();
        assert_eq!(error.code(), "UNKNOWN_INTERVAL");
        assert!(error.to_string().contains("3m"));
    }

    #[test]
    fn weeks_start_on_monday_and_hours_at_midnight() {
        // 2024-01-10T05:00:00Z (a Wednesday) -> Monday 2024-01-08.
        let wednesday = 1_704_862_800_000;
        assert_eq!(Interval::W1.align(wednesday), 1_704_672_000_000);
        assert_eq!(Interval::H4.align(wednesday), 1_704_859_200_000);
        assert_eq!(Interval::D1.align(wednesday), 1_704_844_800_000);
        assert_eq!(Interval::M1.align(-1), -60_000);
    }
}

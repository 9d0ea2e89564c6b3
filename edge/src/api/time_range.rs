//! The time range of a list query (`/klines`, `/trades`, `/fills`, `/orders/history`): the one
//! place `startTime` and `endTime` are read and the one rule for which rows a range selects.
//!
//! Times are milliseconds since the Unix epoch. A value below 10^11 is read as seconds: the
//! seed clients send seconds (`startTime=1737564324`), and 10^11 ms is March 1973 while 10^11 s
//! is past the year 5000, so no real time of either kind falls on the wrong side.

use std::collections::HashMap;

use crate::api::error::{ApiError, ApiResult};

/// Values below this are seconds, at or above it milliseconds.
pub const SECONDS_BELOW: i64 = 100_000_000_000;

/// A client's time value in milliseconds (see the module's rule).
pub fn client_time_ms(value: i64) -> i64 {
    assert!(
        value >= 0,
        "times are checked non-negative before conversion"
    );
    if value < SECONDS_BELOW {
        value.saturating_mul(1000)
    } else {
        value
    }
}

/// A query's `startTime` and `endTime`, in ms, both optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// First millisecond included.
    pub start_ms: Option<i64>,
    /// Last millisecond included.
    pub end_ms: Option<i64>,
}

impl TimeRange {
    /// Reads `startTime` and `endTime`; a value that is not a whole number from 0, or a start
    /// after the end, is a 400 naming the field.
    pub fn from_params(params: &HashMap<String, String>) -> ApiResult<Self> {
        let range = Self {
            start_ms: time_param(params, "startTime")?,
            end_ms: time_param(params, "endTime")?,
        };
        if let (Some(start), Some(end)) = (range.start_ms, range.end_ms) {
            if start > end {
                return Err(ApiError::field("startTime", "must not be after endTime"));
            }
        }
        Ok(range)
    }

    /// Whether `time_ms` lies in the range.
    pub fn contains(&self, time_ms: i64) -> bool {
        self.start_ms.is_none_or(|start| time_ms >= start)
            && self.end_ms.is_none_or(|end| time_ms <= end)
    }

    /// At most `limit` rows of `oldest_first` (sorted by time) inside the range, newest first:
    /// with a start, the first `limit` from it; without, the last `limit` up to the end.
    pub fn select<T>(
        &self,
        oldest_first: impl DoubleEndedIterator<Item = T>,
        time_ms: impl Fn(&T) -> i64,
        limit: usize,
    ) -> Vec<T> {
        let inside = oldest_first.filter(|row| self.contains(time_ms(row)));
        if self.start_ms.is_some() {
            let mut rows: Vec<T> = inside.take(limit).collect();
            rows.reverse();
            rows
        } else {
            inside.rev().take(limit).collect()
        }
    }
}

fn time_param(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    params
        .get(name)
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|value| *value >= 0)
                .map(client_time_ms)
                .ok_or_else(|| {
                    ApiError::field(
                        name,
                        format!("{text:?} is not a time: give milliseconds (or seconds) since the Unix epoch"),
                    )
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn seconds_below_ten_to_the_eleventh_become_milliseconds() {
        assert_eq!(client_time_ms(1_737_564_324), 1_737_564_324_000);
        assert_eq!(client_time_ms(1_737_564_324_000), 1_737_564_324_000);
        assert_eq!(client_time_ms(0), 0);
        assert_eq!(
            client_time_ms(SECONDS_BELOW - 1),
            (SECONDS_BELOW - 1) * 1000
        );
        assert_eq!(client_time_ms(SECONDS_BELOW), SECONDS_BELOW);
        let range =
            TimeRange::from_params(&params(&[("startTime", "0"), ("endTime", "9999999999999")]))
                .unwrap();
        assert_eq!(range.start_ms, Some(0));
        assert_eq!(range.end_ms, Some(9_999_999_999_999));
        let seconds = TimeRange::from_params(&params(&[("startTime", "1737564324")])).unwrap();
        assert_eq!(seconds.start_ms, Some(1_737_564_324_000));
    }

    #[test]
    fn bad_times_name_the_field() {
        for (pairs, field) in [
            (vec![("startTime", "-1")], "startTime"),
            (vec![("endTime", "soon")], "endTime"),
            (
                vec![("startTime", "2000"), ("endTime", "1000")],
                "startTime",
            ),
            // Seconds and milliseconds compare once converted: 1000 s is before 10^11 ms.
            (
                vec![("startTime", "1000"), ("endTime", "100000000000")],
                "none",
            ),
        ] {
            match TimeRange::from_params(&params(&pairs)) {
                Ok(_) => assert_eq!(field, "none", "{pairs:?}"),
                Err(error) => {
                    assert_eq!(error.code, "INVALID_PARAMETER");
                    assert!(error.message.starts_with(field), "{}", error.message);
                }
            }
        }
    }

    #[test]
    fn a_start_takes_the_first_rows_from_it_an_end_the_last_up_to_it() {
        let times = [10, 20, 30, 40, 50];
        let pick = |start, end, limit| {
            TimeRange {
                start_ms: start,
                end_ms: end,
            }
            .select(times.iter().copied(), |t| *t, limit)
        };
        assert_eq!(pick(Some(20), None, 2), vec![30, 20]);
        assert_eq!(pick(None, Some(40), 2), vec![40, 30]);
        assert_eq!(pick(Some(15), Some(35), 10), vec![30, 20]);
        assert_eq!(pick(None, None, 3), vec![50, 40, 30]);
        assert_eq!(pick(Some(0), Some(9_999_999_999_999), 10).len(), 5);
        assert!(pick(Some(51), None, 10).is_empty());
    }
}

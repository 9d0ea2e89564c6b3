//! Recent fills per user, as seen on the output ring (the engine keeps no fill history).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use pinwheel_engine::message::{Event, Fill};

use crate::api::time_range::TimeRange;

/// A fill with its engine time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillRecord {
    /// The fill.
    pub fill: Fill,
    /// Engine time, ms since the epoch.
    pub time_ms: u64,
}

/// The newest fills of each user, bounded per user.
pub struct UserFills {
    per_user: usize,
    fills: Mutex<HashMap<u64, VecDeque<FillRecord>>>,
}

impl UserFills {
    /// Keeps at most `per_user` fills for each user.
    pub fn new(per_user: usize) -> Self {
        Self {
            per_user: per_user.max(1),
            fills: Mutex::new(HashMap::new()),
        }
    }

    /// Records a `Fill` event for `owner`.
    pub fn record(&self, owner: u64, event: &Event) {
        let record = FillRecord {
            fill: event.body(),
            time_ms: event.head.timestamp_ns / 1_000_000,
        };
        let mut fills = self.fills.lock().expect("fills lock");
        let list = fills.entry(owner).or_default();
        if list.len() == self.per_user {
            list.pop_front();
        }
        list.push_back(record);
    }

    /// The newest `limit` fills of `user` in `market` (or all), newest first.
    pub fn recent(&self, user: u64, market: Option<u32>, limit: usize) -> Vec<FillRecord> {
        self.in_range(user, market, &TimeRange::default(), limit)
    }

    /// At most `limit` fills of `user` in `market` (or all) inside `range`, as
    /// [`TimeRange::select`] picks them, newest first.
    pub fn in_range(
        &self,
        user: u64,
        market: Option<u32>,
        range: &TimeRange,
        limit: usize,
    ) -> Vec<FillRecord> {
        let fills = self.fills.lock().expect("fills lock");
        let Some(list) = fills.get(&user) else {
            return Vec::new();
        };
        let of_market = list
            .iter()
            .filter(|r| market.is_none_or(|m| r.fill.market == m));
        range
            .select(of_market, |r| r.time_ms as i64, limit)
            .into_iter()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::message::EventKind;

    #[test]
    fn keeps_the_newest_per_user_and_filters_by_market() {
        let store = UserFills::new(2);
        for (trade_id, market) in [(1, 0), (2, 1), (3, 0)] {
            let event = Event::new(
                EventKind::Fill as u8,
                &Fill {
                    trade_id,
                    market,
                    ..Default::default()
                },
            );
            store.record(9, &event);
        }
        let all: Vec<u64> = store
            .recent(9, None, 10)
            .iter()
            .map(|r| r.fill.trade_id)
            .collect();
        assert_eq!(all, vec![3, 2]);
        assert_eq!(store.recent(9, Some(0), 10).len(), 1);
        assert!(store.recent(8, None, 10).is_empty());
    }

    #[test]
    fn a_time_range_picks_from_its_start_or_up_to_its_end() {
        let store = UserFills::new(10);
        for trade_id in 1..=4u64 {
            let mut event = Event::new(
                EventKind::Fill as u8,
                &Fill {
                    trade_id,
                    ..Default::default()
                },
            );
            event.head.timestamp_ns = trade_id * 1_000_000_000;
            store.record(9, &event);
        }
        let ids = |start, end, limit| -> Vec<u64> {
            let range = TimeRange {
                start_ms: start,
                end_ms: end,
            };
            store
                .in_range(9, None, &range, limit)
                .iter()
                .map(|r| r.fill.trade_id)
                .collect()
        };
        assert_eq!(ids(Some(2_000), None, 2), vec![3, 2]);
        assert_eq!(ids(None, Some(3_000), 2), vec![3, 2]);
        assert_eq!(ids(Some(0), Some(9_999_999_999_999), 10), vec![4, 3, 2, 1]);
    }
}

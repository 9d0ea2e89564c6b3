//! Every order the engine reported, per user, after it closes too: `/order/{id}`,
//! `/order?clientOrderId=` and `/orders/history` answer closed orders from here (the engine
//! forgets an order once it is filled, cancelled or expired; it answers only open ones).
//!
//! The store is kept from the engine's own events: each `OrderUpdate` (placed, filled,
//! amended, cancelled, expired) sets the order's state, each `Fill` adds its fee. It is refilled
//! from the journal at start ([`crate::market_data::history`]), like `/fills`, so it survives an
//! edge restart and an engine crash; the live ring's copies of replayed commands are skipped by
//! sequence. Each user keeps at most `retention` closed orders: the oldest closed go first, and
//! a lookup of one of them answers [`Lookup::Archived`] (`ORDER_ARCHIVED`), not a bare 404.
//!
//! A record holds what a Binance order row needs directly: `executedQty` is
//! `order.executed_quantity` (lots), `cummulativeQuoteQty` is `order.executed_quote` (quote
//! units), `status` is the engine's [`OrderStatus`] name, `time` and `updateTime` are
//! `created_ms` and `updated_ms`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use pinwheel_engine::message::{
    EventKind, Fill, OrderStatus, OrderUpdate, FLAG_QUERY_ANSWER, TEXT_LEN,
};

use crate::api::time_range::TimeRange;
use crate::owners::Published;

/// One order as the engine last reported it, with its fees and times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRecord {
    /// The last update; `order_type` and `time_in_force` as placed.
    pub order: OrderUpdate,
    /// Fees charged on its fills, in units of `fee_asset`.
    pub fee: i64,
    /// The asset of the fees (the one the order receives), once it has a fill.
    pub fee_asset: Option<u32>,
    /// Engine time of its first update (placement), ms.
    pub created_ms: u64,
    /// Engine time of its last update, ms.
    pub updated_ms: u64,
}

impl OrderRecord {
    /// Whether the order may still change (NEW or PARTIALLY_FILLED).
    pub fn is_open(&self) -> bool {
        is_open(self.order.status)
    }
}

fn is_open(status: u8) -> bool {
    status == OrderStatus::New as u8 || status == OrderStatus::PartiallyFilled as u8
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The order.
    Found(OrderRecord),
    /// Not kept: it may be one of the user's orders closed longer ago than the retention
    /// keeps (every order id up to `through` that is not kept is past it).
    Archived {
        /// Highest order id of this user dropped past retention.
        through: u64,
    },
    /// No such order of this user.
    Unknown,
}

/// What `/orders/history` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// One market, or all.
    pub market: Option<u32>,
    /// Creation time range.
    pub range: TimeRange,
    /// Only orders with an id up to this one (paging, newest first).
    pub from_id: Option<u64>,
    /// Most orders answered.
    pub limit: usize,
}

#[derive(Debug, Default)]
struct UserOrders {
    orders: BTreeMap<u64, OrderRecord>,
    by_client: HashMap<[u8; TEXT_LEN], u64>,
    /// Closed order ids, in the order they closed (the oldest goes first past retention).
    closed: VecDeque<u64>,
    /// Highest order id dropped past retention (0: none).
    archived_through: u64,
}

impl UserOrders {
    fn update(&mut self, order: &OrderUpdate, time_ms: u64, retention: usize) {
        let id = order.order_id;
        let was_open = self.orders.get(&id).is_none_or(OrderRecord::is_open);
        let record = self.orders.entry(id).or_insert(OrderRecord {
            order: *order,
            fee: 0,
            fee_asset: None,
            created_ms: time_ms,
            updated_ms: time_ms,
        });
        record.order = OrderUpdate {
            order_type: record.order.order_type,
            time_in_force: record.order.time_in_force,
            ..*order
        };
        record.updated_ms = time_ms;
        if order.client_order_id != [0; TEXT_LEN] {
            let newest = self.by_client.entry(order.client_order_id).or_insert(id);
            *newest = (*newest).max(id);
        }
        if was_open && !is_open(order.status) {
            self.closed.push_back(id);
            self.evict(retention);
        }
    }

    fn evict(&mut self, retention: usize) {
        while self.closed.len() > retention {
            let id = self.closed.pop_front().expect("more closed than retained");
            if let Some(record) = self.orders.remove(&id) {
                let client = record.order.client_order_id;
                if self.by_client.get(&client) == Some(&id) {
                    self.by_client.remove(&client);
                }
            }
            self.archived_through = self.archived_through.max(id);
        }
    }

    fn fill(&mut self, fill: &Fill) {
        if let Some(record) = self.orders.get_mut(&fill.order_id) {
            record.fee += fill.fee;
            record.fee_asset = Some(fill.fee_asset);
        }
    }

    fn get(&self, order_id: u64) -> Lookup {
        match self.orders.get(&order_id) {
            Some(record) => Lookup::Found(*record),
            None if order_id <= self.archived_through => Lookup::Archived {
                through: self.archived_through,
            },
            None => Lookup::Unknown,
        }
    }
}

/// The orders of every user, bounded per user.
pub struct OrderHistory {
    retention: usize,
    users: Mutex<HashMap<u64, UserOrders>>,
    /// Highest command sequence the journal rebuild applied: the ring repeats those.
    rebuilt_sequence: AtomicU64,
}

impl OrderHistory {
    /// Keeps at most `retention` closed orders per user (open orders are always kept).
    pub fn new(retention: usize) -> Self {
        Self {
            retention: retention.max(1),
            users: Mutex::new(HashMap::new()),
            rebuilt_sequence: AtomicU64::new(0),
        }
    }

    /// Closed orders kept per user.
    pub fn retention(&self) -> usize {
        self.retention
    }

    /// Applies one command's events (owners resolved): its order updates, then its fills'
    /// fees (a taker's fills come before its first update). Query answers change nothing.
    pub fn apply(&self, batch: &[Published]) {
        let mut users = self.users.lock().expect("orders lock");
        for published in batch {
            let event = &published.event;
            if event.head.kind == EventKind::OrderUpdate as u8
                && event.head.flags & FLAG_QUERY_ANSWER == 0
            {
                let time_ms = event.head.timestamp_ns / 1_000_000;
                let user = users.entry(published.owner).or_default();
                user.update(&event.body(), time_ms, self.retention);
            }
        }
        for published in batch {
            if published.event.head.kind == EventKind::Fill as u8 {
                if let Some(user) = users.get_mut(&published.owner) {
                    user.fill(&published.event.body());
                }
            }
        }
    }

    /// Applies a command's events read on the output ring unless the journal rebuild did.
    pub fn apply_live(&self, batch: &[Published]) {
        let sequence = batch.first().map_or(0, |p| p.event.head.sequence);
        if sequence > self.rebuilt_sequence.load(Ordering::Acquire) {
            self.apply(batch);
        }
    }

    /// Sets the highest command sequence the journal rebuild applied.
    pub fn mark_rebuilt(&self, sequence: u64) {
        self.rebuilt_sequence.fetch_max(sequence, Ordering::Release);
    }

    /// `user`'s order `order_id`.
    pub fn get(&self, user: u64, order_id: u64) -> Lookup {
        let users = self.users.lock().expect("orders lock");
        users
            .get(&user)
            .map_or(Lookup::Unknown, |u| u.get(order_id))
    }

    /// `user`'s newest order with this client order id. Client ids are not ordered, so once
    /// the user has orders past retention an unknown one may be among them: `Archived`.
    pub fn by_client_id(&self, user: u64, client_order_id: &[u8; TEXT_LEN]) -> Lookup {
        let users = self.users.lock().expect("orders lock");
        let Some(orders) = users.get(&user) else {
            return Lookup::Unknown;
        };
        match orders.by_client.get(client_order_id) {
            Some(id) => orders.get(*id),
            None if orders.archived_through > 0 => Lookup::Archived {
                through: orders.archived_through,
            },
            None => Lookup::Unknown,
        }
    }

    /// `user`'s orders of every status, newest first (by order id): those up to `from_id`,
    /// created inside the range as [`TimeRange::select`] picks them.
    pub fn history(&self, user: u64, query: &HistoryQuery) -> Vec<OrderRecord> {
        let users = self.users.lock().expect("orders lock");
        let Some(orders) = users.get(&user) else {
            return Vec::new();
        };
        let up_to = query.from_id.unwrap_or(u64::MAX);
        let oldest_first = orders
            .orders
            .range(..=up_to)
            .map(|(_, record)| *record)
            .filter(|r| query.market.is_none_or(|m| r.order.market == m));
        query
            .range
            .select(oldest_first, |r| r.created_ms as i64, query.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::message::{text_field, Event, OrderType, TimeInForce};

    const ALICE: u64 = 7;

    fn update(order_id: u64, status: OrderStatus, executed: i64) -> OrderUpdate {
        OrderUpdate {
            order_id,
            status: status as u8,
            quantity: 10,
            executed_quantity: executed,
            executed_quote: executed * 100,
            order_type: OrderType::Limit as u8,
            time_in_force: TimeInForce::Gtc as u8,
            ..Default::default()
        }
    }

    fn published<B: bytemuck::Pod>(kind: EventKind, body: &B, seq: u64) -> Published {
        let mut event = Event::new(kind as u8, body);
        event.head.sequence = seq;
        event.head.timestamp_ns = seq * 1_000_000_000;
        Published {
            event,
            owner: ALICE,
        }
    }

    fn found(lookup: Lookup) -> OrderRecord {
        match lookup {
            Lookup::Found(record) => record,
            other => panic!("not found: {other:?}"),
        }
    }

    #[test]
    fn an_order_keeps_its_final_state_fees_and_times_after_it_closes() {
        let store = OrderHistory::new(10);
        let mut placed = update(1, OrderStatus::New, 0);
        placed.client_order_id = text_field("c-1").unwrap();
        store.apply(&[published(EventKind::OrderUpdate, &placed, 1)]);
        let fill = Fill {
            order_id: 1,
            fee: 3,
            fee_asset: 2,
            ..Default::default()
        };
        let mut filled = update(1, OrderStatus::Filled, 10);
        filled.client_order_id = placed.client_order_id;
        // A query answer says the engine's default type; it changes nothing.
        let mut answer = published(EventKind::OrderUpdate, &update(1, OrderStatus::New, 0), 3);
        answer.event.head.flags = FLAG_QUERY_ANSWER;
        store.apply(&[answer]);
        store.apply(&[
            published(EventKind::Fill, &fill, 2),
            published(EventKind::OrderUpdate, &filled, 2),
        ]);
        let record = found(store.get(ALICE, 1));
        assert_eq!(record.order.status, OrderStatus::Filled as u8);
        assert_eq!(
            (record.order.executed_quantity, record.order.executed_quote),
            (10, 1000)
        );
        assert_eq!((record.fee, record.fee_asset), (3, Some(2)));
        assert_eq!((record.created_ms, record.updated_ms), (1000, 2000));
        assert_eq!(
            found(store.by_client_id(ALICE, &placed.client_order_id)),
            record
        );
        assert_eq!(store.get(ALICE + 1, 1), Lookup::Unknown);
        assert_eq!(store.get(ALICE, 2), Lookup::Unknown);
    }

    #[test]
    fn past_retention_the_oldest_closed_orders_answer_archived() {
        let store = OrderHistory::new(2);
        let mut client = [0u8; TEXT_LEN];
        for id in 1..=4u64 {
            client[0] = b'a' + id as u8;
            let mut done = update(id, OrderStatus::Canceled, 0);
            done.client_order_id = client;
            store.apply(&[published(EventKind::OrderUpdate, &done, id)]);
        }
        store.apply(&[published(
            EventKind::OrderUpdate,
            &update(5, OrderStatus::New, 0),
            5,
        )]);
        assert_eq!(store.get(ALICE, 1), Lookup::Archived { through: 2 });
        assert_eq!(store.get(ALICE, 2), Lookup::Archived { through: 2 });
        assert!(matches!(store.get(ALICE, 3), Lookup::Found(_)));
        assert!(
            matches!(store.get(ALICE, 5), Lookup::Found(_)),
            "open orders stay"
        );
        assert_eq!(store.get(ALICE, 6), Lookup::Unknown);
        client[0] = b'a' + 1;
        assert_eq!(
            store.by_client_id(ALICE, &client),
            Lookup::Archived { through: 2 }
        );
        client[0] = b'a' + 4;
        assert_eq!(found(store.by_client_id(ALICE, &client)).order.order_id, 4);
    }

    #[test]
    fn history_is_newest_first_pages_by_from_id_and_skips_replayed_commands() {
        let store = OrderHistory::new(100);
        for id in 1..=5u64 {
            let batch = [published(
                EventKind::OrderUpdate,
                &update(id, OrderStatus::Filled, 10),
                id,
            )];
            store.apply(&batch);
        }
        store.mark_rebuilt(5);
        let replayed = update(5, OrderStatus::Canceled, 0);
        store.apply_live(&[published(EventKind::OrderUpdate, &replayed, 5)]);
        let query = |from_id, range, limit| -> Vec<u64> {
            let query = HistoryQuery {
                market: None,
                range,
                from_id,
                limit,
            };
            store
                .history(ALICE, &query)
                .iter()
                .map(|r| r.order.order_id)
                .collect()
        };
        let all = TimeRange::default();
        assert_eq!(query(None, all, 2), vec![5, 4]);
        assert_eq!(query(Some(3), all, 2), vec![3, 2]);
        assert_eq!(query(Some(1), all, 2), vec![1]);
        let from_two_seconds = TimeRange {
            start_ms: Some(2000),
            end_ms: None,
        };
        assert_eq!(query(None, from_two_seconds, 2), vec![3, 2]);
        assert_eq!(
            found(store.get(ALICE, 5)).order.status,
            OrderStatus::Filled as u8,
            "the ring's copy of a replayed command is skipped"
        );
        store.apply_live(&[published(
            EventKind::OrderUpdate,
            &update(6, OrderStatus::New, 0),
            6,
        )]);
        assert_eq!(query(None, all, 1), vec![6]);
    }
}

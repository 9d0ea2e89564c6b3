//! What an edge remembers from before it started: one replay of `<data_dir>/journal`
//! (read-only, through a fresh engine) refills the candle store, each market's recent
//! public trades, each user's recent fills and each user's orders, so `/klines`, `/trades`,
//! `/fills`, `/order/{id}` and `/orders/history` survive an edge restart and an engine crash.
//! The live ring's copies of replayed trades are then skipped by trade id, of replayed
//! orders by command sequence.
//! The journal is read by the engine's own follower, with its checks (each frame's command
//! stamped with the frame's sequence; errors name file and offset). It starts from sequence 1,
//! never from a snapshot: the trades and fills it refills are in no snapshot.

use std::path::Path;
use std::time::Duration;

use pinwheel_engine::config::{EngineConfig, MarketTable};
use pinwheel_engine::journal_follower::JournalFollower;
use pinwheel_engine::message::{Event, EventKind, Trade};
use pinwheel_journal::DurableCursor;
use pinwheel_ring::BroadcastReader;

use crate::market_data::fills::UserFills;
use crate::market_data::orders::OrderHistory;
use crate::market_data::MarketData;
use crate::owners::resolve_owners;

/// What the replay refilled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Trades applied to candles and recent trades.
    pub trades: u64,
    /// Fills recorded (two per trade: maker and taker).
    pub fills: u64,
    /// Commands replayed.
    pub commands: u64,
}

/// Most time the replay waits for the journal to hold what the engine already published.
const PUBLISHED_WAIT: Duration = Duration::from_secs(5);

/// What the replay refills.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    /// Candles and recent trades.
    pub market_data: &'a MarketData,
    /// Recent fills per user.
    pub fills: &'a UserFills,
    /// Orders per user.
    pub orders: &'a OrderHistory,
}

/// Replays the journal once into `stores`. Call after attaching to the output ring and
/// before reading it, so nothing falls between the two.
pub fn rebuild(
    data_dir: &Path,
    run_dir: &Path,
    engine: &EngineConfig,
    stores: Stores<'_>,
) -> anyhow::Result<Rebuilt> {
    if !data_dir.join(pinwheel_journal::JOURNAL_DIR).is_dir() {
        return Ok(Rebuilt::default());
    }
    wait_until_published_is_durable(run_dir);
    let table = MarketTable::resolve(engine).map_err(|e| anyhow::anyhow!("markets: {e}"))?;
    let mut replay = JournalFollower::start(data_dir, table, &engine.capacity, None)?;
    let (mut rebuilt, mut highest) = (Rebuilt::default(), 0u64);
    let mut events = Vec::with_capacity(256);
    let mut sequence = 0;
    while let Some(applied) = replay.apply_next(u64::MAX, &mut events)? {
        sequence = applied;
        apply_command(&events, stores, &mut rebuilt, &mut highest);
        events.clear();
    }
    stores.market_data.mark_rebuilt(highest);
    stores.orders.mark_rebuilt(sequence);
    Ok(rebuilt)
}

/// The journal's files hold a frame once the flusher has copied it there, a moment after the
/// engine published the command's events. Waits (bounded) until every command whose events
/// were in the output ring when this edge attached is durable: its trades would otherwise be
/// neither in the replay nor in the part of the ring this edge reads.
fn wait_until_published_is_durable(run_dir: &Path) {
    let path = pinwheel_ring::output_path(run_dir);
    let Ok(probe) = BroadcastReader::attach_waiting(&path, 0, Duration::ZERO) else {
        return; // no engine has run here: nothing published
    };
    let end = probe.writer_position();
    if end == 0 || !probe.writer_alive(Duration::from_secs(2)) {
        return; // a stopped engine left everything it published in the journal
    }
    let Ok(mut last) = BroadcastReader::attach_waiting(&path, end - 1, Duration::ZERO) else {
        return;
    };
    let mut record = vec![0u8; last.record_size()];
    let Ok(Some(_)) = last.try_next(&mut record) else {
        return; // overwritten already: far older than what the replay will find
    };
    let sequence = Event::from_bytes(&record).head.sequence;
    let Ok(durable) = DurableCursor::open(run_dir) else {
        return;
    };
    if !durable.wait_for(sequence, PUBLISHED_WAIT) {
        tracing::warn!(
            sequence,
            durable = durable.get(),
            "the journal did not reach the engine's published sequence in {PUBLISHED_WAIT:?}; recent trades may be missing from this edge's history"
        );
    }
}

/// One replayed command's events: its orders, trades and fills, owners resolved as the live
/// link resolves them.
fn apply_command(events: &[Event], stores: Stores<'_>, rebuilt: &mut Rebuilt, highest: &mut u64) {
    let Stores {
        market_data,
        fills,
        orders,
    } = stores;
    rebuilt.commands += 1;
    let owned = resolve_owners(events);
    orders.apply(&owned);
    for published in owned {
        let event = &published.event;
        if event.head.kind == EventKind::Trade as u8 {
            market_data.apply_trade(event);
            *highest = (*highest).max(event.body::<Trade>().trade_id);
            rebuilt.trades += 1;
        } else if event.head.kind == EventKind::Fill as u8 {
            fills.record(published.owner, event);
            rebuilt.fills += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::message::{Done, Fill, Side};

    fn event<B: bytemuck::Pod>(kind: EventKind, user: u64, body: &B) -> Event {
        let mut event = Event::new(kind as u8, body);
        event.head.user_id = user;
        event.head.timestamp_ns = 1_700_000_000_000_000_000;
        event
    }

    #[test]
    fn a_replayed_trade_refills_trades_and_both_users_fills_and_marks_the_watermark() {
        let table = MarketTable::resolve(&Default::default()).unwrap();
        let data = MarketData::new(&table, 10, 10);
        let fills = UserFills::new(10);
        let (maker, taker) = (5, 7);
        let trade = Trade {
            trade_id: 3,
            taker_side: Side::Buy as u8,
            price: 100,
            quantity: 2,
            maker_user_id: maker,
            taker_user_id: taker,
            ..Default::default()
        };
        let fill = |is_maker: u8| Fill {
            trade_id: 3,
            is_maker,
            price: 100,
            quantity: 2,
            ..Default::default()
        };
        // The engine writes a maker's fill under the taker's head; the trade names the maker.
        let batch = [
            event(EventKind::Fill, taker, &fill(1)),
            event(EventKind::Fill, taker, &fill(0)),
            event(EventKind::Trade, taker, &trade),
            event(EventKind::Done, taker, &Done::default()),
        ];
        let (mut rebuilt, mut highest) = (Rebuilt::default(), 0);
        let orders = OrderHistory::new(10);
        let stores = Stores {
            market_data: &data,
            fills: &fills,
            orders: &orders,
        };
        apply_command(&batch, stores, &mut rebuilt, &mut highest);
        data.mark_rebuilt(highest);
        assert_eq!(
            rebuilt,
            Rebuilt {
                trades: 1,
                fills: 2,
                commands: 1,
            }
        );
        assert_eq!(fills.recent(maker, None, 10)[0].fill.is_maker, 1);
        assert_eq!(fills.recent(taker, None, 10)[0].fill.is_maker, 0);
        let trades = data.with(0, |m| m.trades.clone()).unwrap();
        assert_eq!(trades.len(), 1);
        assert_eq!(
            (trades[0].trade_id, trades[0].time_ms),
            (3, 1_700_000_000_000)
        );
        assert!(data.is_rebuilt(3) && !data.is_rebuilt(4));
    }

    #[test]
    fn the_history_replay_waits_until_what_the_ring_holds_is_durable() {
        use pinwheel_engine::message::RECORD_SIZE;
        use pinwheel_journal::{Durability, JournalConfig, JournalWriter};
        use pinwheel_ring::BroadcastWriter;
        use std::time::Instant;

        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("run");
        pinwheel_ring::ensure_run_dir(&run_dir).unwrap();
        let config = JournalConfig::new(dir.path().join("journal"), Durability::Sync);
        let cursor = DurableCursor::create(&run_dir).unwrap();
        let mut journal = JournalWriter::open(&config, cursor, 1).unwrap();
        let mut ring =
            BroadcastWriter::open_or_create(&pinwheel_ring::output_path(&run_dir), RECORD_SIZE, 64)
                .unwrap();
        ring.heartbeat();
        // The engine published command 2's events; the flusher has not made 2 durable yet.
        journal.append(1, 1, &[1; 128]);
        journal.publish();
        let mut done = Event::new(EventKind::Done as u8, &Done::default());
        done.head.sequence = 2;
        ring.publish(done.as_bytes());
        let appended = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            journal.append(2, 2, &[2; 128]);
            journal.publish();
            journal.close().unwrap();
        });
        let started = Instant::now();
        wait_until_published_is_durable(&run_dir);
        let waited = started.elapsed();
        assert!(
            DurableCursor::open(&run_dir).unwrap().get() >= 2,
            "returned before command 2 was durable"
        );
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert!(waited < PUBLISHED_WAIT, "{waited:?}");
        appended.join().unwrap();
    }

    #[test]
    fn a_frame_that_does_not_hold_its_command_stops_the_rebuild_naming_file_and_offset() {
        use pinwheel_journal::{
            segment_file_name, Durability, JournalConfig, JournalWriter, JOURNAL_DIR,
            SEGMENT_HEADER_SIZE,
        };

        let dir = tempfile::tempdir().unwrap();
        let (run_dir, data_dir) = (dir.path().join("run"), dir.path().join("data"));
        pinwheel_ring::ensure_run_dir(&run_dir).unwrap();
        let mut config = JournalConfig::new(data_dir.join(JOURNAL_DIR), Durability::Sync);
        config.segment_size = 1 << 20;
        let cursor = DurableCursor::create(&run_dir).unwrap();
        let mut journal = JournalWriter::open(&config, cursor, 1).unwrap();
        // Frame 1 holds a record whose head says sequence 0x0101...: not this engine's.
        journal.append(1, 1, &[1; 128]);
        journal.close().unwrap();
        let mut engine = EngineConfig::default();
        engine.capacity.orders = 64;
        engine.capacity.users = 8;
        engine.capacity.api_keys = 8;
        engine.capacity.price_levels = 64;
        let table = MarketTable::resolve(&engine).unwrap();
        let (data, fills) = (MarketData::new(&table, 10, 10), UserFills::new(10));
        let orders = OrderHistory::new(10);
        let stores = Stores {
            market_data: &data,
            fills: &fills,
            orders: &orders,
        };
        let error = rebuild(&data_dir, &run_dir, &engine, stores).unwrap_err();
        let segment = data_dir.join(JOURNAL_DIR).join(segment_file_name(1));
        let text = format!("{error:#}");
        let at = format!("{}:{SEGMENT_HEADER_SIZE}", segment.display());
        assert!(text.contains(&at), "{text}");
        assert!(
            text.contains("journal frame 1 holds a command stamped"),
            "{text}"
        );
    }
}

//! The feed's catch-up reads the journal through the engine's follower, with its checks: it
//! starts from a snapshot only if the snapshot restores the state hash it records, and a
//! snapshot it cannot read is an error, not a silent start from nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use pinwheel_candles::TradeRow;
use pinwheel_engine::config::{Capacity, EngineConfig, MarketTable};
use pinwheel_engine::message::Side;
use pinwheel_engine::recovery::{journal_dir, replay_into, snapshot_dir, DiscardEvents};
use pinwheel_engine::Engine;
use pinwheel_feed::catch_up::JournalCatchUp;
use pinwheel_feed::pipeline::EnginePipeline;
use pinwheel_journal::write_snapshot;

fn engine_config() -> EngineConfig {
    EngineConfig {
        capacity: Capacity {
            orders: 1024,
            users: 8,
            price_levels: 1024,
            api_keys: 4,
            depth_levels: 10,
        },
        ..EngineConfig::default()
    }
}

fn table() -> MarketTable {
    MarketTable::resolve(&engine_config()).unwrap()
}

/// Two funded users and `trades` trades, journaled and durable under `root/data`; returns
/// the data directory and the trades.
fn traded(root: &Path, trades: usize) -> (PathBuf, Vec<TradeRow>) {
    let (run_dir, data_dir) = (root.join("run"), root.join("data"));
    let mut pipeline = EnginePipeline::create(&engine_config(), &run_dir, &data_dir, 256).unwrap();
    let maker = pipeline.create_user("maker").unwrap();
    let taker = pipeline.create_user("taker").unwrap();
    for user in [maker, taker] {
        for asset in 0..4 {
            pipeline.deposit(user, asset, 1 << 60).unwrap();
        }
    }
    let made = (0..trades)
        .map(|n| {
            let price = 1_000_000 + n as i64;
            pipeline
                .trade(maker, taker, 0, Side::Buy, price, 10)
                .unwrap()
        })
        .collect();
    pipeline.wait_durable(Duration::from_secs(10)).unwrap();
    pipeline.close().unwrap();
    (data_dir, made)
}

/// Writes a snapshot of the journal's state at `sequence`, recording `recorded(true hash)`.
fn snapshot_at(data_dir: &Path, sequence: u64, recorded: impl FnOnce(u64) -> u64) -> PathBuf {
    let config = engine_config();
    let mut engine = Engine::new(table(), &config.capacity);
    let journal = journal_dir(data_dir);
    replay_into(
        &mut engine,
        &journal,
        Some(sequence),
        &mut DiscardEvents,
        false,
    )
    .unwrap();
    assert_eq!(
        engine.last_sequence(),
        sequence,
        "every command is accepted"
    );
    let mut body = Vec::new();
    engine.write_snapshot(&mut body).unwrap();
    let hash = recorded(engine.state_hash());
    write_snapshot(&snapshot_dir(data_dir), sequence, hash, &body).unwrap()
}

/// Catch-up for a cursor at `after_sequence`: the trades it ships, or its error.
fn catch_up(data_dir: &Path, after_sequence: u64) -> anyhow::Result<(Vec<TradeRow>, u64)> {
    let mut catch_up = JournalCatchUp::new(data_dir, table(), engine_config().capacity);
    let mut shipped = Vec::new();
    let stop = AtomicBool::new(false);
    catch_up.run(0, after_sequence, u64::MAX, None, &stop, |trade| {
        shipped.push(*trade);
        Ok(())
    })?;
    Ok((shipped, catch_up.replayed_to()))
}

#[test]
fn catch_up_refuses_a_snapshot_whose_state_hash_is_not_the_recorded_one() {
    let root = tempfile::tempdir().unwrap();
    let (data_dir, _) = traded(root.path(), 40);
    let snapshot = snapshot_at(&data_dir, 50, |hash| hash.wrapping_add(1));
    let error = catch_up(&data_dir, 60).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains(&snapshot.display().to_string()), "{text}");
    assert!(text.contains("state hash"), "{text}");
}

#[test]
fn catch_up_starts_from_a_good_snapshot_before_its_cursor() {
    let root = tempfile::tempdir().unwrap();
    let (data_dir, made) = traded(root.path(), 40);
    let (full, last) = catch_up(&data_dir, 0).unwrap();
    assert_eq!(full, made, "without a snapshot every trade is shipped");
    snapshot_at(&data_dir, 50, |hash| hash);
    let (after, replayed_to) = catch_up(&data_dir, 60).unwrap();
    assert_eq!(replayed_to, last);
    // Each trade is two commands (maker, taker); the snapshot covers those up to 50.
    let kept: Vec<TradeRow> = made.iter().filter(|t| t.sequence > 50).copied().collect();
    assert!(!kept.is_empty() && kept.len() < made.len());
    assert_eq!(after, kept);
    // A cursor at the snapshot itself could sit inside a half-shipped command: not used.
    let (at, _) = catch_up(&data_dir, 50).unwrap();
    assert_eq!(at, made);
}

#[test]
fn catch_up_surfaces_a_snapshot_folder_it_cannot_read() {
    let root = tempfile::tempdir().unwrap();
    let (data_dir, _) = traded(root.path(), 5);
    std::fs::write(snapshot_dir(&data_dir), b"not a folder").unwrap();
    let error = catch_up(&data_dir, 10).unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains(&snapshot_dir(&data_dir).display().to_string()),
        "{text}"
    );
}

//! The fuzz targets' seed corpus (`fuzz/corpus/<target>/`), made by the real encoders: JSON
//! bodies and WebSocket messages by serde_json, ring records by `Command::as_bytes`, snapshots
//! by `Engine::write_snapshot` and `pinwheel_journal::write_snapshot`, journal segments by the
//! journal's own header and frame encoders, configuration files by `toml`. This test fails when
//! the committed corpus is not exactly what the encoders make today;
//! `PINWHEEL_WRITE_CORPUS=1 cargo test --test fuzz_corpus` writes it anew.

#[allow(dead_code)]
#[path = "../fuzz/src/fixture.rs"]
mod fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pinwheel_engine::config::{AssetConfig, Capacity, EngineConfig, MarketConfig};
use pinwheel_engine::message::{Command, RECORD_SIZE};
use pinwheel_journal::fuzzing::{frame, segment_header};
use pinwheel_journal::SEGMENT_HEADER_SIZE;
use serde_json::json;

type Corpus = BTreeMap<&'static str, Vec<Vec<u8>>>;

fn json_seeds(values: &[serde_json::Value]) -> Vec<Vec<u8>> {
    values.iter().map(|v| v.to_string().into_bytes()).collect()
}

fn rest_body() -> Vec<Vec<u8>> {
    json_seeds(&[
        json!({"market": "BTC-USD", "side": "buy", "type": "limit", "price": "30000.5",
               "quantity": 0.25, "timeInForce": "IOC", "postOnly": false,
               "clientOrderId": "c-1", "stp": "expire_both"}),
        json!({"market": "BTC-USD", "side": "buy", "type": "market", "quoteQuantity": "100"}),
        json!({"market": "ETH-USD", "side": "sell", "type": "market", "quantity": "1.5e-2"}),
        json!({"market": "SOL-USD", "side": "sell", "price": 12.345, "quantity": "3",
               "postOnly": true}),
        json!({"market": "BTC-USD", "orderId": "17", "userId": 1}),
        json!({"asset": "USD", "amount": "1000.00000001"}),
        json!({"username": "alice", "password": "correct horse"}),
    ])
}

fn query_string() -> Vec<Vec<u8>> {
    [
        "symbol=BTC-USD&limit=5",
        "symbol=ETH-USD&interval=1m&startTime=0&endTime=1700000000000",
        "market=SOL-USD&limit=500",
        "symbol=BTC%2DUSD&interval=1w",
    ]
    .map(|text| text.as_bytes().to_vec())
    .to_vec()
}

fn ws_message() -> Vec<Vec<u8>> {
    let key = format!("{}.{}", "0f".repeat(16), "a5".repeat(32));
    json_seeds(&[
        json!({"method": "SUBSCRIBE", "params": ["depth@BTC-USD", "trade@ETH-USD"], "id": 1}),
        json!({"method": "SUBSCRIBE", "params": ["kline@SOL-USD:15m", "ticker@BTC-USD"], "id": 2}),
        json!({"method": "UNSUBSCRIBE", "params": ["depth@BTC-USD"], "id": "x"}),
        json!({"method": "AUTH", "params": [key], "id": 3}),
        json!({"method": "SUBSCRIBE", "params": ["orders", "fills@BTC-USD"], "id": 4}),
        json!({"method": "LIST_SUBSCRIPTIONS", "id": 5}),
    ])
}

fn units() -> Vec<Vec<u8>> {
    let texts = [
        (0, "30000.5"),
        (0, "0.00001"),
        (1, "1.0025e2"),
        (2, "\"12.5\""),
        (1, "+2"),
    ];
    texts
        .iter()
        .map(|(market, text)| [&[*market][..], text.as_bytes()].concat())
        .collect()
}

fn records(commands: &[Command]) -> Vec<u8> {
    commands
        .iter()
        .flat_map(|c| c.as_bytes().to_vec())
        .collect()
}

fn ring_record() -> Vec<Vec<u8>> {
    let traffic = fixture::traffic();
    let mut seeds: Vec<Vec<u8>> = traffic.iter().map(|c| records(&[*c])).collect();
    seeds.push(records(&traffic));
    seeds
}

fn snapshot_body(extra: &[Command]) -> Vec<u8> {
    let mut engine = fixture::engine();
    for command in extra {
        fixture::apply(&mut engine, *command);
    }
    let mut body = Vec::new();
    engine.write_snapshot(&mut body).unwrap();
    body
}

fn engine_snapshot() -> Vec<Vec<u8>> {
    vec![snapshot_body(&[]), snapshot_body(&fixture::traffic()[..1])]
}

fn snapshot_file(scratch: &Path) -> Vec<Vec<u8>> {
    let body = snapshot_body(&[]);
    let path = pinwheel_journal::write_snapshot(scratch, 12, 0x1234, &body).unwrap();
    let file = std::fs::read(path).unwrap();
    // Shape 0: the rest is a body to wrap; shape 1: the rest is a whole file.
    vec![[&[0u8][..], &body].concat(), [&[1u8][..], &file].concat()]
}

/// Frames of `commands` from sequence `first`, as the engine journals them.
fn frames(first: u64, commands: &[Command]) -> Vec<u8> {
    (first..)
        .zip(commands)
        .flat_map(|(sequence, c)| frame(sequence, 1_000 * sequence, c.as_bytes()))
        .collect()
}

fn journal_segment() -> Vec<Vec<u8>> {
    let setup = fixture::setup();
    let body = frames(1, &setup);
    let mut whole = segment_header(1, (SEGMENT_HEADER_SIZE + body.len() + 256) as u64).to_vec();
    whole[32..40].copy_from_slice(&1u64.to_le_bytes());
    whole.extend_from_slice(&body);
    whole.resize(whole.len() + 256, 0);
    let (early, late) = setup.split_at(4);
    let two = [frames(1, early), frames(5, late)];
    let split = (two[0].len() * 256 / (two[0].len() + two[1].len())) as u8;
    vec![
        // Shape 0: the file as is.
        [&[0u8, 0][..], &whole].concat(),
        // Shape 3: header added, frames sealed; a zeroed tail after them.
        [&[3u8, 0][..], &body, &[0u8; 64][..]].concat(),
        // Shape 7: two segments, split at the second byte's share.
        [&[7u8, split][..], &two[0], &two[1]].concat(),
    ]
}

fn config_file() -> Vec<Vec<u8>> {
    let configs = [
        json!({"instance": "fuzz", "wait": "backoff", "durability": "async",
               "journal": {"retention": "archive"}}),
        json!({"engine": EngineConfig {
            assets: vec![AssetConfig::new("USD", 2), AssetConfig::new("BTC", 8)],
            markets: vec![MarketConfig::spot("BTC", "USD", ["0.01", "0.0001", "0.001"], (1, 2))],
            capacity: Capacity::default(),
        }}),
        json!({"edge": {"port": 9000}, "up": {"edges": 2}}),
    ];
    configs
        .iter()
        .map(|value| toml::to_string(value).unwrap().into_bytes())
        .collect()
}

fn corpus(scratch: &Path) -> Corpus {
    let mut corpus = Corpus::new();
    corpus.insert("rest_body", rest_body());
    corpus.insert("query_string", query_string());
    corpus.insert("ws_message", ws_message());
    corpus.insert("units", units());
    corpus.insert("ring_record", ring_record());
    corpus.insert("engine_snapshot", engine_snapshot());
    corpus.insert("snapshot_file", snapshot_file(scratch));
    corpus.insert("journal_segment", journal_segment());
    corpus.insert("config_file", config_file());
    corpus
}

fn seed_path(target: &str, index: usize) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
        .join(format!("seed-{index:02}"))
}

#[test]
fn committed_seed_corpus_is_what_the_encoders_make() {
    let scratch = std::env::temp_dir().join(format!("pinwheel-corpus-{}", std::process::id()));
    let corpus = corpus(&scratch);
    std::fs::remove_dir_all(&scratch).unwrap();
    let write = std::env::var_os("PINWHEEL_WRITE_CORPUS").is_some();
    for (target, seeds) in &corpus {
        assert!(seeds.len() >= 2, "{target}: a handful of seeds");
        let dir = seed_path(target, 0).parent().unwrap().to_path_buf();
        if write {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (index, seed) in seeds.iter().enumerate() {
            let path = seed_path(target, index);
            if write {
                std::fs::write(&path, seed).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == *seed,
                "{} differs from its encoder's output",
                path.display()
            );
        }
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(
            files,
            seeds.len(),
            "{}: files no encoder made",
            dir.display()
        );
    }
    // Ring records are whole records, as the ring carries them.
    assert!(corpus["ring_record"]
        .iter()
        .all(|s| s.len() % RECORD_SIZE == 0));
}

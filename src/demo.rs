//! `pinwheel up --demo`: demo users with balances, and the market maker quoting every market
//! with its taker trading against the quotes, so a newcomer sees a live book and trades at once.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::config::Config;
use crate::up::Supervised;

/// Demo users and their password.
pub const DEMO_USERS: [&str; 2] = ["alice", "bob"];
/// The demo users' password (printed at start-up; a demo is not a production setup).
pub const DEMO_PASSWORD: &str = "pinwheel-demo";
/// What each demo user gets on sign-up.
const DEMO_DEPOSITS: [(&str, &str); 4] = [
    ("USD", "1000000"),
    ("BTC", "10"),
    ("ETH", "100"),
    ("SOL", "1000"),
];

/// Creates the demo users (or signs them in if they exist) and adds the market maker.
pub fn prepare(
    config: &Config,
    exe: &Path,
    children: &mut Vec<Supervised>,
    shared: &[String],
) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{}", config.up.port);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    wait_healthy(&client, &base, Duration::from_secs(60))?;
    for user in DEMO_USERS {
        let token = sign_up_or_in(&client, &base, user)?;
        for (asset, amount) in DEMO_DEPOSITS {
            let response = client
                .post(format!("{base}/api/v1/on-ramp"))
                .bearer_auth(&token)
                .json(&json!({ "asset": asset, "amount": amount }))
                .send()?;
            anyhow::ensure!(
                response.status().is_success(),
                "demo deposit for {user} failed: {}",
                response.text()?
            );
        }
    }
    let markets: Vec<String> = config
        .engine
        .markets
        .iter()
        .map(|m| m.symbol.clone())
        .collect();
    let mm = [
        "mm",
        "--url",
        &base,
        "--markets",
        &markets.join(","),
        "--levels",
        "8",
        "--spread-bps",
        "10",
        "--rate",
        "5",
        "--seed",
        "7",
        // A second account trades against the quotes, so the chart, tickers and recent
        // trades move too.
        "--taker-rate",
        "1",
    ]
    .map(String::from);
    let _ = shared; // the market maker only talks to the public API
    let mut maker = Supervised::new("market-maker", mm.to_vec());
    maker.start(exe)?;
    children.push(maker);
    println!(
        "Demo: users {} with password {DEMO_PASSWORD:?}; the market maker is quoting {} and a taker trades about once a second in each.",
        DEMO_USERS.join(", "),
        markets.join(", ")
    );
    Ok(())
}

fn wait_healthy(
    client: &reqwest::blocking::Client,
    base: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("the edge at {base} did not become healthy within {limit:?}")
}

fn sign_up_or_in(
    client: &reqwest::blocking::Client,
    base: &str,
    user: &str,
) -> anyhow::Result<String> {
    let body = json!({ "username": user, "password": DEMO_PASSWORD });
    let mut response = client
        .post(format!("{base}/api/v1/signup"))
        .json(&body)
        .send()?;
    if response.status() == reqwest::StatusCode::CONFLICT {
        response = client
            .post(format!("{base}/api/v1/signin"))
            .json(&body)
            .send()?;
    }
    anyhow::ensure!(
        response.status().is_success(),
        "demo sign-up of {user} failed: {}",
        response.status()
    );
    let answer: Value = response.json()?;
    answer["token"]
        .as_str()
        .map(String::from)
        .context("sign-up answer without a token")
}

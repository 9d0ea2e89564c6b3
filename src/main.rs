//! `pinwheel`: one binary, one subcommand per role. It parses arguments and calls into the crates.

mod config;
mod demo;
mod journal_cmd;
mod up;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{CommonArgs, Config};

/// Pinwheel: a low-latency exchange.
#[derive(Parser, Debug)]
#[command(name = "pinwheel", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Role,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// Run the matching engine (one pinned thread) and its journal flusher.
    Engine {
        /// Core to pin the engine thread to (overrides [pinning] engine_core).
        #[arg(long)]
        core: Option<usize>,
    },
    /// Run an HTTP + WebSocket edge.
    Edge {
        /// Port to listen on.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Run the feed: trades to QuestDB (or the embedded store).
    Feed {
        /// QuestDB HTTP address, e.g. http://127.0.0.1:9000.
        #[arg(long)]
        questdb: Option<String>,
    },
    /// Start engine, edges, feed and snapshot follower; supervise them.
    Up(up::UpArgs),
    /// Journal tools: verify, inspect, replay (and the snapshot follower).
    Journal {
        #[command(subcommand)]
        command: journal_cmd::JournalCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    init_tracing();
    if let Err(error) = run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINWHEEL_LOG")
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Role::Engine { core } => run_engine(&cli.common, core),
        Role::Edge { port } => {
            let config = Config::load(&cli.common)?;
            pinwheel_edge::run(edge_config(&config, port)?)
        }
        Role::Feed { questdb } => {
            let config = Config::load(&cli.common)?;
            pinwheel_feed::run(feed_config(&config, questdb)?)
        }
        Role::Up(args) => up::run(&cli.common, &args),
        Role::Journal { command } => journal_cmd::run(&cli.common, &command),
    }
}

/// A flag that SIGINT and SIGTERM set, for loops that stop cleanly.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    Ok(stop)
}

fn run_engine(common: &CommonArgs, core: Option<usize>) -> anyhow::Result<()> {
    let config = Config::load(common)?;
    let mut hot = config.hot_loop()?;
    if core.is_some() {
        hot.engine_core = core;
    }
    std::fs::create_dir_all(&hot.run_dir)?;
    std::fs::create_dir_all(&hot.data_dir)?;
    let stop = stop_flag()?;
    pinwheel_engine::hot_loop::run(&hot, &config.engine, &stop)
}

fn edge_config(config: &Config, port: Option<u16>) -> anyhow::Result<pinwheel_edge::EdgeConfig> {
    let mut edge = config.edge.clone();
    if let Some(port) = port {
        edge.port = port;
    }
    edge.run_dir = config.run_dir();
    edge.data_dir = config.data_dir.clone();
    edge.wait = config.wait_strategy()?;
    edge.durability = config.durability.clone();
    edge.questdb = config.questdb.clone();
    edge.engine = config.engine.clone();
    Ok(edge)
}

fn feed_config(
    config: &Config,
    questdb: Option<String>,
) -> anyhow::Result<pinwheel_feed::FeedConfig> {
    let mut feed = config.feed.clone();
    feed.questdb = questdb.or_else(|| config.questdb.clone());
    feed.run_dir = config.run_dir();
    feed.data_dir = config.data_dir.clone();
    feed.wait = config.wait_strategy()?;
    feed.engine = config.engine.clone();
    Ok(feed)
}

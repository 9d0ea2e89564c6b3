//! `pinwheel`: one binary, one subcommand per role. It parses arguments and calls into the crates.

mod admin;
mod config;
mod demo;
mod journal_cmd;
mod up;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{CommonArgs, Config};

/// The binary's allocator: mimalloc (it beat the system allocator under `bench e2e`; see
/// the README). Built with `count-allocations`, the counting allocator instead, so `bench
/// engine` reports allocations per command.
#[cfg(not(feature = "count-allocations"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(feature = "count-allocations")]
#[global_allocator]
static ALLOCATOR: pinwheel_engine::alloc_count::CountingAllocator =
    pinwheel_engine::alloc_count::CountingAllocator;

/// Pinwheel: a low-latency exchange.
#[derive(Parser, Debug)]
#[command(name = "pinwheel", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML), here or after the subcommand (`pinwheel --config F up` is
    /// `pinwheel up --config F`; the one after the subcommand wins); for the subcommands that
    /// read one.
    #[arg(long, env = "PINWHEEL_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Role,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// Run the matching engine (one pinned thread) and its journal flusher.
    Engine {
        #[command(flatten)]
        common: CommonArgs,
        /// Core to pin the engine thread to (overrides [pinning] engine_core).
        #[arg(long)]
        core: Option<usize>,
    },
    /// Run an HTTP + WebSocket edge (several may run at once on one engine).
    Edge {
        #[command(flatten)]
        common: CommonArgs,
        /// Port to listen on (overrides [edge] port).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Run the feed: ship every trade to QuestDB, exactly once.
    Feed {
        #[command(flatten)]
        common: CommonArgs,
        /// QuestDB HTTP address, e.g. http://127.0.0.1:9000 (overrides `questdb`).
        #[arg(long)]
        questdb: Option<String>,
    },
    /// Start engine, edges, feed and snapshot follower; supervise them.
    Up(up::UpArgs),
    /// Operator controls on the running engine: admin role, market halts, transfers for a user.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Journal tools: verify, inspect, replay (and the snapshot follower).
    Journal {
        #[command(subcommand)]
        command: journal_cmd::JournalCommand,
    },
    /// Replay a LOBSTER (NASDAQ) file through the engine and check its book and matching against NASDAQ's.
    LobsterCheck(pinwheel_lobster::LobsterArgs),
    /// Inspect the host, plan core pinning, measure jitter.
    Tune {
        #[command(subcommand)]
        command: pinwheel_tuning::TuneCommand,
    },
    /// Market maker over the public REST + WebSocket API.
    Mm(pinwheel_mm::Args),
    /// Benchmarks; each prints a table, then one JSON line.
    Bench {
        #[command(subcommand)]
        command: Bench,
    },
}

#[derive(Subcommand, Debug)]
enum Bench {
    /// Cross-process ring round trip vs bare ping-pong and crossbeam, and one-way throughput.
    Ring(pinwheel_benches::ring::Args),
    /// The engine's matching on exchange-core's workload, against orderbook-rs.
    Engine(pinwheel_benches::engine::Args),
    /// Trades into QuestDB against the bare questdb-rs client, and the lag to visibility.
    Feed(pinwheel_benches::feed::Args),
    /// Engine throughput per durability mode, fdatasync vs sync acknowledgement, replay, recovery.
    Journal(pinwheel_benches::journal::Args),
    /// Every benchmark, with a Markdown report and plots.
    All(pinwheel_benches::report::AllArgs),
    /// The engine stand-in process of `bench ring` (started by it).
    #[command(hide = true)]
    RingEcho(pinwheel_benches::ring::EchoArgs),
    /// HTTP order round trips (open loop) vs the bare-axum floor, saturation, engine -> WebSocket.
    E2e(pinwheel_benches::e2e::Args),
}

fn main() {
    let cli = Cli::parse().with_config_placed();
    // A one-shot operator command prints its answer; ring attach/detach lines would bury it.
    let quiet = matches!(cli.command, Role::Admin { .. });
    init_tracing(if quiet { "warn" } else { "info" });
    if let Err(error) = run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

impl Cli {
    /// Hands the configuration file named before the subcommand (or by PINWHEEL_CONFIG) to
    /// the subcommand, unless it names one itself.
    fn with_config_placed(mut self) -> Self {
        if let (Some(path), Some(common)) = (self.config.take(), self.command.common_mut()) {
            common.config.get_or_insert(path);
        }
        self
    }
}

impl Role {
    /// The configuration flags of a subcommand that reads the configuration.
    fn common_mut(&mut self) -> Option<&mut CommonArgs> {
        match self {
            Role::Engine { common, .. } | Role::Edge { common, .. } => Some(common),
            Role::Feed { common, .. } => Some(common),
            Role::Up(args) => Some(&mut args.common),
            Role::Admin { command } => Some(command.common_mut()),
            Role::Journal { command } => command.common_mut(),
            Role::LobsterCheck(_) | Role::Tune { .. } | Role::Mm(_) | Role::Bench { .. } => None,
        }
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINWHEEL_LOG")
        .unwrap_or_else(|_| default.into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Role::Engine { common, core } => run_engine(&common, core),
        Role::Edge { common, port } => run_edge(&common, port),
        Role::Feed { common, questdb } => run_feed(&common, questdb),
        Role::Up(args) => up::run(&args),
        Role::LobsterCheck(args) => run_lobster(&args),
        Role::Tune { command } => pinwheel_tuning::run(&command),
        Role::Mm(args) => pinwheel_mm::run(&args),
        Role::Journal { command } => journal_cmd::run(&command),
        Role::Admin { command } => admin::run(&command),
        Role::Bench { command } => run_bench(&command),
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

fn run_edge(common: &CommonArgs, port: Option<u16>) -> anyhow::Result<()> {
    let config = Config::load(common)?;
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
    pinwheel_edge::run(edge)
}

fn run_feed(common: &CommonArgs, questdb: Option<String>) -> anyhow::Result<()> {
    let config = Config::load(common)?;
    let mut feed = config.feed.clone();
    feed.questdb = questdb.or_else(|| config.questdb.clone());
    feed.run_dir = config.run_dir();
    feed.data_dir = config.data_dir.clone();
    feed.wait = config.wait.clone();
    feed.engine = config.engine.clone();
    pinwheel_feed::run(feed)
}

fn run_lobster(args: &pinwheel_lobster::LobsterArgs) -> anyhow::Result<()> {
    let summary = pinwheel_lobster::run_lobster(args)?;
    anyhow::ensure!(
        summary.all_matched(),
        "the engine's book differs from NASDAQ's (see the summary above)"
    );
    Ok(())
}

fn run_bench(command: &Bench) -> anyhow::Result<()> {
    let figures = match command {
        Bench::Ring(args) => pinwheel_benches::ring::run(args)?,
        Bench::Engine(args) => pinwheel_benches::engine::run(args)?,
        Bench::Feed(args) => pinwheel_benches::feed::run(args)?,
        Bench::Journal(args) => pinwheel_benches::journal::run(args)?,
        Bench::All(args) => pinwheel_benches::report::run_all(args)?,
        Bench::RingEcho(args) => return pinwheel_benches::ring::run_echo(args),
        Bench::E2e(args) => pinwheel_benches::e2e::run(args)?,
    };
    // The last line of every benchmark is one JSON object, for scripts.
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_config_file_may_come_before_or_after_the_subcommand() {
        let config_of = |args: &[&str]| {
            let mut cli = Cli::try_parse_from(args).unwrap().with_config_placed();
            let common = cli
                .command
                .common_mut()
                .expect("up reads the configuration");
            common.config.clone().map(|path| path.display().to_string())
        };
        let before = config_of(&["pinwheel", "--config", "a.toml", "up"]);
        assert_eq!(before.as_deref(), Some("a.toml"));
        let after = config_of(&["pinwheel", "up", "--config", "b.toml"]);
        assert_eq!(after.as_deref(), Some("b.toml"));
        let both = config_of(&["pinwheel", "--config", "a.toml", "up", "--config", "b.toml"]);
        assert_eq!(both.as_deref(), Some("b.toml"), "the subcommand's own wins");
        let admin = config_of(&["pinwheel", "--config", "a.toml", "admin", "halt", "BTC-USD"]);
        assert_eq!(admin.as_deref(), Some("a.toml"));
    }

    #[test]
    fn role_flags_come_after_the_role() {
        let cli = Cli::try_parse_from([
            "pinwheel",
            "engine",
            "--run-dir",
            "/tmp/r",
            "--wait",
            "backoff",
            "--core",
            "1",
        ])
        .unwrap();
        let Role::Engine { common, core } = cli.command else {
            panic!("not the engine role")
        };
        assert_eq!(
            common.run_dir.as_deref(),
            Some(std::path::Path::new("/tmp/r"))
        );
        assert_eq!(core, Some(1));
    }
}

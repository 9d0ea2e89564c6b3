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
    /// HTTP + WebSocket gateway.
    Edge {
        #[command(flatten)]
        common: CommonArgs,
        /// Port to listen on.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Start engine, edges, feed and snapshot follower; supervise them.
    Up(up::UpArgs),
    /// Journal tools: verify, inspect, replay (and the snapshot follower).
    Journal {
        #[command(subcommand)]
        command: journal_cmd::JournalCommand,
    },
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
    /// The engine stand-in process of `bench ring` (started by it).
    #[command(hide = true)]
    RingEcho(pinwheel_benches::ring::EchoArgs),
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
        Role::Engine { common, core } => run_engine(&common, core),
        Role::Edge { common, port } => run_edge(&common, port),
        Role::Up(args) => up::run(&args),
        Role::Journal { command } => journal_cmd::run(&command),
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
    let hot = config.hot_loop()?;
    let mut edge = pinwheel_edge::EdgeConfig {
        run_dir: hot.run_dir.clone(),
        data_dir: config.data_dir.clone(),
        wait: hot.wait,
        durability: config.durability.clone(),
        engine: config.engine.clone(),
        ..Default::default()
    };
    if let Some(port) = port {
        edge.port = port;
    }
    pinwheel_edge::run(edge)
}

fn run_bench(command: &Bench) -> anyhow::Result<()> {
    let figures = match command {
        Bench::Ring(args) => pinwheel_benches::ring::run(args)?,
        Bench::RingEcho(args) => return pinwheel_benches::ring::run_echo(args),
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

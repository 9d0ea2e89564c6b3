//! `pinwheel up`: starts the engine, the edges, the feed and the snapshot follower as
//! child processes, restarts whichever crashes, and stops them all on Ctrl-C or SIGTERM.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::{CommonArgs, Config};

/// Flags of `pinwheel up`.
#[derive(Args, Clone, Debug, Default)]
pub struct UpArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Number of edge processes.
    #[arg(long)]
    pub edges: Option<u16>,
    /// Port of the first edge (the others take the next ports).
    #[arg(long)]
    pub port: Option<u16>,
    /// Create demo users with balances and run the market maker with its taker.
    #[arg(long)]
    pub demo: bool,
    /// QuestDB HTTP address for trades and candles (default: the embedded store).
    #[arg(long)]
    pub questdb: Option<String>,
}

/// One supervised child: how to start it and, while it runs, the process.
pub struct Supervised {
    name: String,
    args: Vec<String>,
    child: Option<Child>,
    restarts: u32,
    next_start: Instant,
}

impl Supervised {
    /// A child that is not started yet.
    pub fn new(name: impl Into<String>, args: Vec<String>) -> Self {
        Self {
            name: name.into(),
            args,
            child: None,
            restarts: 0,
            next_start: Instant::now(),
        }
    }

    /// Starts the child.
    pub fn start(&mut self, exe: &Path) -> anyhow::Result<()> {
        let mut command = Command::new(exe);
        // Its own process group: Ctrl-C in a terminal signals the whole foreground group at
        // once, and the market maker's cancel-all on exit then raced the edge's shutdown.
        // Only `up` gets the signal now, and it stops its children in order (the bot first,
        // the engine last).
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .process_group(0);
        // SAFETY: the closure runs in the forked child before exec and only calls prctl,
        // which is async-signal-safe; it touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                // The child dies with `up`, even when `up` is killed with SIGKILL.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", self.name))?;
        tracing::info!(name = %self.name, pid = child.id(), "started");
        self.child = Some(child);
        Ok(())
    }

    /// Restarts the child if it exited, with a growing delay against crash loops.
    fn check(&mut self, exe: &Path) -> anyhow::Result<()> {
        if let Some(child) = &mut self.child {
            let Some(status) = child.try_wait()? else {
                return Ok(());
            };
            tracing::warn!(name = %self.name, %status, "exited; restarting");
            self.child = None;
            self.restarts += 1;
            let delay = Duration::from_millis(200u64 << self.restarts.min(5));
            self.next_start = Instant::now() + delay;
        }
        if self.child.is_none() && Instant::now() >= self.next_start {
            self.start(exe)?;
        }
        Ok(())
    }

    fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) with a pid we own (our child, not yet reaped) and a valid signal.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                tracing::info!(name = %self.name, "stopped");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!(name = %self.name, "did not stop in time; killing");
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Runs `pinwheel up` until SIGINT or SIGTERM.
pub fn run(args: &UpArgs) -> anyhow::Result<()> {
    let common = &args.common;
    let mut config = Config::load(common)?;
    if let Some(edges) = args.edges {
        config.up.edges = edges;
    }
    if let Some(port) = args.port {
        config.up.port = port;
    }
    if args.questdb.is_some() {
        config.questdb = args.questdb.clone();
    }
    config.validate()?;
    let exe = std::env::current_exe()?;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    let shared = shared_flags(common, &config);
    let mut engine = Supervised::new("engine", [vec!["engine".into()], shared.clone()].concat());
    engine.start(&exe)?;
    wait_for_engine(&config.run_dir(), &mut engine, Duration::from_secs(60))?;
    let mut others = helper_processes(&shared, &config);
    for child in &mut others {
        child.start(&exe)?;
    }
    print_urls(&config);
    if args.demo {
        crate::demo::prepare(&config, &exe, &mut others, &shared)?;
    }
    while !stop.load(Ordering::Relaxed) {
        engine.check(&exe)?;
        for child in &mut others {
            child.check(&exe)?;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::info!("stopping");
    for child in others.iter_mut().rev() {
        child.stop(Duration::from_secs(5));
    }
    engine.stop(Duration::from_secs(10));
    Ok(())
}

/// The flags every child gets, so they all agree on directories and modes.
fn shared_flags(common: &CommonArgs, config: &Config) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(path) = &common.config {
        flags.extend(["--config".into(), path.display().to_string()]);
    }
    flags.extend(["--run-dir".into(), config.run_dir().display().to_string()]);
    flags.extend(["--data-dir".into(), config.data_dir.display().to_string()]);
    flags.extend(["--wait".into(), config.wait.clone()]);
    flags.extend(["--durability".into(), config.durability.clone()]);
    flags
}

fn helper_processes(shared: &[String], config: &Config) -> Vec<Supervised> {
    let with = |role: &[String]| [role.to_vec(), shared.to_vec()].concat();
    let mut children = Vec::new();
    for index in 0..config.up.edges {
        let port = (config.up.port + index).to_string();
        children.push(Supervised::new(
            format!("edge-{index}"),
            with(&["edge".into(), "--port".into(), port]),
        ));
    }
    if let Some(url) = &config.questdb {
        // Without QuestDB the edges keep the embedded candle store; no feed process is needed.
        children.push(Supervised::new(
            "feed",
            with(&["feed".into(), "--questdb".into(), url.clone()]),
        ));
    }
    let journal = config.data_dir.display().to_string();
    let every = config.journal.snapshot_every.to_string();
    let follower = [
        "journal",
        "replay",
        &journal,
        "--follow",
        "--snapshot-every",
        &every,
    ]
    .map(String::from);
    children.push(Supervised::new("follower", with(&follower)));
    children
}

/// Waits (bounded) until the engine has created its output ring and heartbeats.
fn wait_for_engine(run_dir: &Path, engine: &mut Supervised, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let output: PathBuf = run_dir.join("output");
    while Instant::now() < deadline {
        if let Some(child) = &mut engine.child {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the engine exited during start-up ({status}); see its log above");
            }
        }
        if let Ok(reader) = pinwheel_ring::BroadcastReader::attach(&output) {
            if reader.writer_alive(Duration::from_secs(2)) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!(
        "the engine did not come up within {limit:?} (no live output ring in {})",
        run_dir.display()
    )
}

fn print_urls(config: &Config) {
    println!("Pinwheel is up.");
    for index in 0..config.up.edges {
        let port = config.up.port + index;
        println!("  edge {index}: http://127.0.0.1:{port}/  (API http://127.0.0.1:{port}/api/v1, WS ws://127.0.0.1:{port}/ws)");
    }
    println!("  run dir:  {}", config.run_dir().display());
    println!("  data dir: {}", config.data_dir.display());
    println!(
        "  candles:  {}",
        config
            .questdb
            .as_deref()
            .unwrap_or("embedded store (no QuestDB configured)")
    );
    println!("Ctrl-C stops everything.");
}

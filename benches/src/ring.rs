//! `pinwheel bench ring`: round trip through the rings between two processes,
//! against two in-process baselines on the same two cores, plus one-way throughput.
//!
//! - ring RTT: this process (the "edge", thread pinned to core A) pushes a record
//!   into its input ring; a child process (`<exe> bench ring-echo`, the "engine",
//!   pinned to core B) drains it and publishes it on the output ring; the edge reads it.
//! - atomic ping-pong: two pinned threads bounce a counter through two padded atomics
//!   (the hardware floor).
//! - crossbeam: two pinned threads bounce a counter through two crossbeam channels.
//!
//! All three are open-loop: send `i` is planned at `start + i / rate`, and its
//! latency counts from that planned time, so a stall also delays (and is charged
//! to) the sends behind it. All idle loops use the same `--wait` strategy.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use pinwheel_ring::{
    output_path, BroadcastReader, BroadcastWriter, InputConfig, InputHub, InputProducer,
    WaitStrategy, Waiter,
};

/// Bytes per record, as the engine's messages.
const RECORD: usize = 128;
/// Records per ring.
const CAPACITY: usize = 4096;
/// How long either side waits for the other before giving up.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// Record kinds (word 0).
const PING: u64 = 1;
const BULK: u64 = 2;
const BULK_END: u64 = 3;
const STOP: u64 = 4;

/// Options of `pinwheel bench ring`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Measured round trips per measurement.
    #[arg(long, default_value_t = 50_000)]
    pub iterations: u64,
    /// Round trips before measuring (not recorded).
    #[arg(long, default_value_t = 5_000)]
    pub warmup: u64,
    /// Planned round trips per second (open loop).
    #[arg(long, default_value_t = 20_000)]
    pub rate: u64,
    /// Idle strategy of every polling loop: spin, spin-yield, backoff or park.
    #[arg(long, default_value_t = WaitStrategy::Spin)]
    pub wait: WaitStrategy,
    /// The two cores to pin to, "A,B" (default: the first two this process may use).
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Records pushed for the one-way throughput figure.
    #[arg(long, default_value_t = 2_000_000)]
    pub throughput_records: u64,
    /// Records per push batch in the throughput run.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Where to put the rings (default: a fresh directory under /dev/shm).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            iterations: 50_000,
            warmup: 5_000,
            rate: 20_000,
            wait: WaitStrategy::Spin,
            cores: Vec::new(),
            throughput_records: 2_000_000,
            batch: 32,
            run_dir: None,
        }
    }
}

/// Options of the hidden `pinwheel bench ring-echo` (the engine stand-in process).
#[derive(Debug, Clone, clap::Args)]
pub struct EchoArgs {
    /// Run directory holding the rings (created by the echo process).
    #[arg(long)]
    pub run_dir: PathBuf,
    /// Core to pin to.
    #[arg(long)]
    pub core: Option<usize>,
    /// Idle strategy.
    #[arg(long, default_value_t = WaitStrategy::Spin)]
    pub wait: WaitStrategy,
}

/// How to start the echo process: `program`, then `leading` arguments, then the
/// echo flags. `pinwheel` runs itself as `<exe> bench ring-echo`.
#[derive(Debug, Clone)]
pub struct EchoLauncher {
    /// Executable.
    pub program: PathBuf,
    /// Arguments before the echo flags.
    pub leading: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl EchoLauncher {
    /// This executable as `<exe> bench ring-echo`.
    pub fn current_exe() -> anyhow::Result<Self> {
        Ok(Self {
            program: std::env::current_exe().context("locating the pinwheel executable")?,
            leading: vec!["bench".into(), "ring-echo".into()],
            env: Vec::new(),
        })
    }
}

/// Runs the benchmark, prints its table, and returns the JSON figures.
pub fn run(args: &Args) -> anyhow::Result<serde_json::Value> {
    run_with(args, &EchoLauncher::current_exe()?)
}

/// [`run`] with a chosen way of starting the echo process (tests use the test binary).
pub fn run_with(args: &Args, launcher: &EchoLauncher) -> anyhow::Result<serde_json::Value> {
    if args.rate == 0 || args.iterations == 0 || args.batch == 0 {
        bail!("--rate, --iterations and --batch must be positive");
    }
    let (core_a, core_b) = pick_cores(&args.cores)?;
    let schedule = Schedule::new(args);
    eprintln!("ring bench: atomic ping-pong baseline ...");
    let pingpong = atomic_pingpong(&schedule, core_a, core_b, args.wait)?;
    eprintln!("ring bench: crossbeam channel baseline ...");
    let crossbeam = crossbeam_pingpong(&schedule, core_a, core_b, args.wait)?;
    eprintln!("ring bench: cross-process ring round trip and throughput ...");
    let (rtt, throughput) = ring_measurements(args, &schedule, launcher, core_a, core_b)?;
    print_table(
        args,
        (core_a, core_b),
        &rtt,
        &pingpong,
        &crossbeam,
        throughput,
    );
    Ok(serde_json::json!({
        "bench": "ring",
        "rtt_ns": percentiles(&rtt),
        "pingpong_ns": percentiles(&pingpong),
        "crossbeam_ns": percentiles(&crossbeam),
        "throughput_per_sec": throughput,
    }))
}

/// The two cores to use: asked for, or the first two this process may run on.
fn pick_cores(asked: &[usize]) -> anyhow::Result<(usize, usize)> {
    // Read the allowed set before pinning anything: it lists only the cores we may use.
    let allowed: Vec<usize> = core_affinity::get_core_ids()
        .context("reading the allowed cores")?
        .into_iter()
        .map(|core| core.id)
        .collect();
    let pair = match asked {
        [] => match allowed.as_slice() {
            [a, b, ..] => (*a, *b),
            _ => bail!("the ring bench needs two cores; this process may use {allowed:?}"),
        },
        [a, b] if a != b => (*a, *b),
        _ => bail!("--cores takes two different core ids, e.g. --cores 0,1 (got {asked:?})"),
    };
    for core in [pair.0, pair.1] {
        if !allowed.contains(&core) {
            bail!("core {core} is not available to this process (allowed: {allowed:?})");
        }
    }
    Ok(pair)
}

fn pin(core: usize) -> anyhow::Result<()> {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        bail!("could not pin to core {core}");
    }
    Ok(())
}

/// Planned send times: `warmup + iterations` sends, `1/rate` apart.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    warmup: u64,
    total: u64,
    interval: Duration,
}

impl Schedule {
    fn new(args: &Args) -> Self {
        Self {
            warmup: args.warmup,
            total: args.warmup + args.iterations,
            interval: Duration::from_nanos((1_000_000_000 / args.rate).max(1)),
        }
    }

    fn planned(&self, start: Instant, index: u64) -> Instant {
        start + Duration::from_nanos(self.interval.as_nanos() as u64 * index)
    }

    /// Runs `round_trip(i)` at each planned time; records latency from the plan.
    fn run(
        &self,
        mut round_trip: impl FnMut(u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<Histogram<u64>> {
        let mut histogram = new_histogram();
        let start = Instant::now() + Duration::from_millis(1);
        for index in 0..self.total {
            let planned = self.planned(start, index);
            wait_until(planned);
            round_trip(index)?;
            if index >= self.warmup {
                let latency = planned.elapsed().as_nanos() as u64;
                histogram
                    .record(latency.max(1))
                    .context("recording a latency")?;
            }
        }
        Ok(histogram)
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Sleeps most of a long wait, spins the last stretch, so the send is on time.
fn wait_until(deadline: Instant) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > Duration::from_micros(300) {
            std::thread::sleep(left - Duration::from_micros(200));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Waits (bounded) until `ready` holds, idling with `waiter`.
fn poll_until(
    waiter: &mut Waiter,
    what: &str,
    mut ready: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + PEER_TIMEOUT;
    let mut polls = 0u32;
    while !ready()? {
        waiter.idle();
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(4096) && Instant::now() > deadline {
            bail!("timed out after {PEER_TIMEOUT:?} waiting for {what}");
        }
    }
    waiter.reset();
    Ok(())
}

/// The hardware floor: a counter bounced through two padded atomics.
fn atomic_pingpong(
    schedule: &Schedule,
    core_a: usize,
    core_b: usize,
    wait: WaitStrategy,
) -> anyhow::Result<Histogram<u64>> {
    let ping = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let pong = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let total = schedule.total;
    let echo = {
        let (ping, pong) = (ping.clone(), pong.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            pin(core_b)?;
            let mut waiter = Waiter::new(wait);
            for expected in 1..=total {
                poll_until(&mut waiter, "a ping", || {
                    Ok(ping.load(Ordering::Acquire) == expected)
                })?;
                pong.store(expected, Ordering::Release);
            }
            Ok(())
        })
    };
    let schedule = *schedule;
    let measured = std::thread::spawn(move || -> anyhow::Result<Histogram<u64>> {
        pin(core_a)?;
        let mut waiter = Waiter::new(wait);
        schedule.run(|index| {
            ping.store(index + 1, Ordering::Release);
            poll_until(&mut waiter, "a pong", || {
                Ok(pong.load(Ordering::Acquire) == index + 1)
            })
        })
    });
    let histogram = join(measured)?;
    join(echo)?;
    Ok(histogram)
}

/// A counter bounced through two crossbeam channels.
fn crossbeam_pingpong(
    schedule: &Schedule,
    core_a: usize,
    core_b: usize,
    wait: WaitStrategy,
) -> anyhow::Result<Histogram<u64>> {
    let (to_b, from_a) = crossbeam_channel::bounded::<u64>(1);
    let (to_a, from_b) = crossbeam_channel::bounded::<u64>(1);
    let total = schedule.total;
    let echo = std::thread::spawn(move || -> anyhow::Result<()> {
        pin(core_b)?;
        let mut waiter = Waiter::new(wait);
        for _ in 0..total {
            let mut got = None;
            poll_until(&mut waiter, "a ping", || {
                got = from_a.try_recv().ok();
                Ok(got.is_some())
            })?;
            to_a.send(got.expect("received"))
                .context("pong channel closed")?;
        }
        Ok(())
    });
    let schedule = schedule.to_owned();
    let measured = std::thread::spawn(move || -> anyhow::Result<Histogram<u64>> {
        pin(core_a)?;
        let mut waiter = Waiter::new(wait);
        schedule.run(|index| {
            to_b.send(index).context("ping channel closed")?;
            poll_until(&mut waiter, "a pong", || {
                Ok(from_b.try_recv().is_ok_and(|v| v == index))
            })
        })
    });
    let histogram = join(measured)?;
    join(echo)?;
    Ok(histogram)
}

fn join<T>(handle: std::thread::JoinHandle<anyhow::Result<T>>) -> anyhow::Result<T> {
    handle
        .join()
        .map_err(|_| anyhow::anyhow!("benchmark thread panicked"))?
}

fn record_of(kind: u64, value: u64) -> [u8; RECORD] {
    let mut record = [0u8; RECORD];
    record[..8].copy_from_slice(&kind.to_le_bytes());
    record[8..16].copy_from_slice(&value.to_le_bytes());
    record
}

fn word(record: &[u8], index: usize) -> u64 {
    u64::from_le_bytes(
        record[index * 8..index * 8 + 8]
            .try_into()
            .expect("8 bytes"),
    )
}

/// Kills the echo process if the bench fails before stopping it.
struct EchoProcess(Option<Child>);

impl EchoProcess {
    fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.0.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("the echo process failed: {status}");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill()?;
        child.wait()?;
        bail!("the echo process did not stop")
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Removes the bench's run directory when done.
struct TempRunDir(PathBuf);

impl Drop for TempRunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bench_run_dir(args: &Args) -> PathBuf {
    let name = format!("bench-ring-{}", std::process::id());
    match &args.run_dir {
        Some(dir) => dir.join(name),
        None => pinwheel_ring::default_run_dir(&name),
    }
}

/// Starts the echo process, measures the round trip and the throughput, stops it.
fn ring_measurements(
    args: &Args,
    schedule: &Schedule,
    launcher: &EchoLauncher,
    core_a: usize,
    core_b: usize,
) -> anyhow::Result<(Histogram<u64>, f64)> {
    let run_dir = TempRunDir(bench_run_dir(args));
    let mut command = Command::new(&launcher.program);
    command
        .args(&launcher.leading)
        .arg("--run-dir")
        .arg(&run_dir.0);
    command.args([
        "--core",
        &core_b.to_string(),
        "--wait",
        &args.wait.to_string(),
    ]);
    command.envs(launcher.env.iter().map(|(k, v)| (k, v)));
    let mut echo = EchoProcess(Some(command.spawn().context("starting the echo process")?));
    let (args, schedule, dir) = (args.clone(), *schedule, run_dir.0.clone());
    let edge = std::thread::spawn(move || -> anyhow::Result<(Histogram<u64>, f64)> {
        pin(core_a)?;
        let mut edge = Edge::attach(&dir, args.wait)?;
        let rtt = schedule.run(|index| edge.round_trip(index))?;
        let throughput = edge.throughput(args.throughput_records, args.batch)?;
        edge.stop()?;
        Ok((rtt, throughput))
    });
    let result = join(edge);
    if result.is_ok() {
        echo.stop()?;
    }
    result
}

/// The measuring side: an edge with its input ring and an output reader.
struct Edge {
    producer: InputProducer,
    reader: BroadcastReader,
    waiter: Waiter,
    out: [u8; RECORD],
}

impl Edge {
    fn attach(dir: &Path, wait: WaitStrategy) -> anyhow::Result<Self> {
        let producer = InputProducer::attach(dir, PEER_TIMEOUT)
            .context("attaching to the echo's input rings")?;
        let reader = BroadcastReader::attach_waiting(&output_path(dir), 0, PEER_TIMEOUT)?;
        Ok(Self {
            producer,
            reader,
            waiter: Waiter::new(wait),
            out: [0; RECORD],
        })
    }

    fn push(&mut self, record: &[u8]) -> anyhow::Result<()> {
        let producer = &mut self.producer;
        poll_until(&mut self.waiter, "input ring space", || {
            Ok(producer.try_push(record).is_ok())
        })
    }

    /// Reads output records until one of `kind` arrives; returns its value.
    fn await_reply(&mut self, kind: u64) -> anyhow::Result<u64> {
        let (reader, out) = (&mut self.reader, &mut self.out);
        poll_until(&mut self.waiter, "the echo", || {
            match reader.try_next(out) {
                Ok(Some(_)) => Ok(word(out, 0) == kind),
                Ok(None) => Ok(false),
                Err(lapped) => bail!("the bench's reader was lapped: {lapped}"),
            }
        })?;
        Ok(word(&self.out, 1))
    }

    fn round_trip(&mut self, index: u64) -> anyhow::Result<()> {
        self.push(&record_of(PING, index))?;
        let echoed = self.await_reply(PING)?;
        if echoed != index {
            bail!("echo returned {echoed} for {index}");
        }
        Ok(())
    }

    /// One-way records per second: `count` records pushed in batches, timed
    /// until the echo acknowledges the last.
    fn throughput(&mut self, count: u64, batch: usize) -> anyhow::Result<f64> {
        let records: Vec<[u8; RECORD]> = (0..batch as u64).map(|i| record_of(BULK, i)).collect();
        let refs: Vec<&[u8]> = records.iter().map(|r| &r[..]).collect();
        let started = Instant::now();
        let mut sent = 0u64;
        while sent < count {
            let want = (count - sent).min(batch as u64) as usize;
            let producer = &mut self.producer;
            let mut pushed = 0;
            poll_until(&mut self.waiter, "input ring space", || {
                pushed = producer.try_push_batch(&refs[..want]);
                Ok(pushed > 0)
            })?;
            sent += pushed as u64;
        }
        self.push(&record_of(BULK_END, count))?;
        let received = self.await_reply(BULK_END)?;
        let elapsed = started.elapsed();
        if received != count {
            bail!("the echo counted {received} of {count} records");
        }
        Ok(count as f64 / elapsed.as_secs_f64())
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        self.push(&record_of(STOP, 0))
    }
}

/// The echo process (`pinwheel bench ring-echo`): creates the rings, then
/// echoes pings, counts bulk records, and stops on request (or after
/// [`PEER_TIMEOUT`] without input).
pub fn run_echo(args: &EchoArgs) -> anyhow::Result<()> {
    if let Some(core) = args.core {
        pin(core)?;
    }
    let config = InputConfig {
        max_edges: 2,
        capacity: CAPACITY,
        record_size: RECORD,
        heartbeat_timeout: Duration::from_secs(600),
    };
    let mut hub = InputHub::open_or_create(&args.run_dir, config)?;
    let mut writer =
        BroadcastWriter::open_or_create(&output_path(&args.run_dir), RECORD, CAPACITY)?;
    let mut waiter = Waiter::new(args.wait);
    let (mut bulk, mut stop) = (0u64, false);
    let (mut last_input, mut records, mut records_at_check) = (Instant::now(), 0u64, 0u64);
    let mut idle_polls = 0u32;
    while !stop {
        let read = hub.drain(256, |_, record| match word(record, 0) {
            PING => {
                writer.publish(record);
            }
            BULK => bulk += 1,
            BULK_END => {
                writer.publish(&record_of(BULK_END, bulk));
                bulk = 0;
            }
            _ => stop = true,
        });
        if read > 0 {
            records += read as u64;
            waiter.reset();
            idle_polls = 0;
            continue;
        }
        waiter.idle();
        idle_polls = idle_polls.wrapping_add(1);
        if idle_polls.is_multiple_of(4096) {
            if records != records_at_check {
                (records_at_check, last_input) = (records, Instant::now());
            } else if last_input.elapsed() > PEER_TIMEOUT {
                bail!("no input for {PEER_TIMEOUT:?}; stopping");
            }
            hub.maintain(|_| {});
        }
    }
    Ok(())
}

/// Percentiles of a histogram as the JSON object the CLI prints.
fn percentiles(histogram: &Histogram<u64>) -> serde_json::Value {
    let [p50, p99, p999, p9999, max] = points(histogram);
    serde_json::json!({ "p50": p50, "p99": p99, "p999": p999, "p9999": p9999, "max": max })
}

fn points(histogram: &Histogram<u64>) -> [u64; 5] {
    [
        histogram.value_at_quantile(0.50),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.value_at_quantile(0.9999),
        histogram.max(),
    ]
}

fn print_table(
    args: &Args,
    cores: (usize, usize),
    rtt: &Histogram<u64>,
    pingpong: &Histogram<u64>,
    crossbeam: &Histogram<u64>,
    throughput: f64,
) {
    println!(
        "ring bench: cores {} and {}, wait {}, {} round trips at {}/s (+{} warm-up), open loop",
        cores.0, cores.1, args.wait, args.iterations, args.rate, args.warmup
    );
    println!(
        "{:<28}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "round trip (ns)", "p50", "p99", "p99.9", "p99.99", "max"
    );
    let rows = [
        ("ring, two processes", rtt),
        ("atomic ping-pong (floor)", pingpong),
        ("crossbeam channel", crossbeam),
    ];
    for (name, histogram) in rows {
        let [a, b, c, d, e] = points(histogram);
        println!("{name:<28}{a:>10}{b:>10}{c:>10}{d:>10}{e:>10}");
    }
    let ring = points(rtt);
    for (name, base) in [
        ("ring / ping-pong", points(pingpong)),
        ("ring / crossbeam", points(crossbeam)),
    ] {
        let ratios: Vec<String> = ring
            .iter()
            .zip(base)
            .map(|(r, b)| format!("{:.2}x", *r as f64 / b.max(1) as f64))
            .collect();
        println!(
            "{name:<28}{:>10}{:>10}{:>10}{:>10}{:>10}",
            ratios[0], ratios[1], ratios[2], ratios[3], ratios[4]
        );
    }
    println!(
        "one-way throughput, batches of {}: {:.0} records/s",
        args.batch, throughput
    );
    let pp = points(pingpong);
    let cb = points(crossbeam);
    let verdict = |ok: bool| if ok { "met" } else { "missed" };
    println!(
        "goals: p50 <= 1.5x ping-pong: {}; p50 < crossbeam: {}; p99.9 <= 2x ping-pong: {}",
        verdict(ring[0] as f64 <= 1.5 * pp[0] as f64),
        verdict(ring[0] < cb[0]),
        verdict(ring[2] as f64 <= 2.0 * pp[2] as f64)
    );
}

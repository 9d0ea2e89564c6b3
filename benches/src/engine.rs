//! `pinwheel bench engine`: the matching engine alone, in process (no rings, no journal),
//! on exchange-core's published workload, side by side with orderbook-rs.
//!
//! The command stream is generated once (seeded); every run starts from a fresh engine
//! with the same set-up. Reported: the maximum throughput (closed loop), open-loop latency
//! percentiles at fixed rates and at the maximum, allocations per command, and the same
//! for orderbook-rs driven by the identical stream.

pub mod baseline;
pub mod open_loop;
pub mod workload;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use hdrhistogram::Histogram;
use pinwheel_engine::message::Command;
use pinwheel_engine::Engine;
use serde_json::{json, Map, Value};

use self::baseline::Baseline;
use self::open_loop::{closed_loop, open_loop, percentiles, Target};
use self::workload::{CountingSink, Workload};
use pinwheel_engine::alloc_count::{count_allocations, is_counting};

/// The fixed open-loop rates, per second (the maximum is added at run time).
pub const RATES: [u64; 3] = [125_000, 1_000_000, 5_000_000];

/// Arguments of `pinwheel bench engine`.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Small counts, for tests.
    #[arg(long)]
    pub tiny: bool,
    /// Seconds each open-loop rate runs at most.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Commands in the generated stream.
    #[arg(long, default_value_t = 1_000_000)]
    pub commands: usize,
    /// Seed of the command stream.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    #[command(flatten)]
    pub pinning: Pinning,
}

/// Where the measuring thread runs (shared with the journal benchmark).
#[derive(clap::Args, Clone, Debug)]
pub struct Pinning {
    /// Pin the measuring thread to `--core` (the default).
    #[arg(long, overrides_with = "no_pin")]
    pub pin: bool,
    /// Do not pin the measuring thread.
    #[arg(long)]
    pub no_pin: bool,
    /// Core for the measuring thread (default: the last core).
    #[arg(long)]
    pub core: Option<usize>,
    /// Spin a thread on another core while measuring (noisy-neighbour figures).
    #[arg(long)]
    pub background_load: bool,
}

/// The engine applying the stream.
struct EngineTarget<'a> {
    engine: Engine,
    commands: &'a [Command],
    sink: CountingSink,
}

impl Target for EngineTarget<'_> {
    fn apply(&mut self, index: usize) {
        self.engine.apply(&self.commands[index], &mut self.sink);
    }
}

impl<'a> EngineTarget<'a> {
    fn prepared(workload: &'a Workload) -> Self {
        Self {
            engine: workload.prepared_engine(),
            commands: &workload.commands,
            sink: CountingSink::default(),
        }
    }
}

/// What one implementation measured.
struct Measured {
    /// Commands the implementation refused in the closed-loop run.
    refused: u64,
    ops_per_sec: f64,
    /// None when the binary does not count allocations (built without `count-allocations`).
    allocs_per_op: Option<f64>,
    latency: Vec<(String, Histogram<u64>)>,
}

/// Runs the benchmark, prints its table and returns the JSON object.
pub fn run(args: &Args) -> anyhow::Result<Value> {
    let (count, seconds) = if args.tiny {
        (20_000, args.seconds.min(0.05))
    } else {
        (args.commands, args.seconds)
    };
    anyhow::ensure!(count >= 1_000, "--commands must be at least 1000");
    anyhow::ensure!(seconds > 0.0, "--seconds must be positive");
    let workload = Workload::generate(args.seed, count);
    anyhow::ensure!(workload.final_orders > 0, "the generated book emptied");
    let placement = PlacementGuard::apply(&args.pinning)?;
    let engine = measure(
        || EngineTarget::prepared(&workload),
        |target| target.sink.rejects,
        count,
        seconds,
    );
    anyhow::ensure!(
        engine.refused == 0,
        "the engine rejected {} commands of the stream",
        engine.refused
    );
    let baseline = measure(
        || Baseline::prepared(&workload),
        |target| target.refused,
        count,
        seconds,
    );
    drop(placement);
    print_table(&workload, &engine, &baseline, &args.pinning);
    Ok(json!({
        "bench": "engine",
        "ops_per_sec": engine.ops_per_sec.round(),
        "allocs_per_op": engine.allocs_per_op,
        "baseline_ops_per_sec": baseline.ops_per_sec.round(),
        "latency_ns": latency_json(&engine),
        "baseline_latency_ns": latency_json(&baseline),
    }))
}

/// Closed loop for the maximum (allocations counted), then each open-loop rate, each on a
/// freshly prepared target.
fn measure<T: Target>(
    prepare: impl Fn() -> T,
    refused: impl Fn(&T) -> u64,
    count: usize,
    seconds: f64,
) -> Measured {
    let mut target = prepare();
    let (elapsed, allocations) = count_allocations(|| closed_loop(&mut target, count));
    let refused = refused(&target);
    let ops_per_sec = count as f64 / elapsed.as_secs_f64();
    let max_rate = ops_per_sec as u64;
    let mut latency = Vec::new();
    let rates = RATES.iter().map(|rate| (rate.to_string(), *rate));
    for (name, rate) in rates.chain([("max".to_string(), max_rate)]) {
        let commands = count.min((rate as f64 * seconds) as usize).max(1);
        let mut target = prepare();
        let (histogram, _) = open_loop(&mut target, commands, rate.max(1));
        latency.push((name, histogram));
    }
    Measured {
        refused,
        ops_per_sec,
        allocs_per_op: is_counting().then(|| allocations as f64 / count as f64),
        latency,
    }
}

fn latency_json(measured: &Measured) -> Value {
    let mut map = Map::new();
    for (name, histogram) in &measured.latency {
        map.insert(name.clone(), percentiles(histogram));
    }
    Value::Object(map)
}

fn print_table(workload: &Workload, engine: &Measured, baseline: &Measured, pinning: &Pinning) {
    println!(
        "bench engine: {} commands after {} set-up ({:.1}% traded, {} resting at the end), pinned: {}, background load: {}",
        workload.commands.len(),
        workload.setup.len(),
        workload.trading_ppm as f64 / 10_000.0,
        workload.final_orders,
        !pinning.no_pin,
        pinning.background_load
    );
    println!(
        "{:<14} {:>14} {:>14} {:>8}",
        "", "pinwheel", "orderbook-rs", "ratio"
    );
    println!(
        "{:<14} {:>14.0} {:>14.0} {:>7.1}x",
        "ops/s (max)",
        engine.ops_per_sec,
        baseline.ops_per_sec,
        engine.ops_per_sec / baseline.ops_per_sec
    );
    match engine.allocs_per_op {
        Some(allocs) => println!("{:<14} {:>14.3}", "allocs/op", allocs),
        None => println!(
            "{:<14} {:>14}   (build with --features count-allocations to count)",
            "allocs/op", "not counted"
        ),
    }
    println!(
        "{:<14} {:>14} {:>14}   (orderbook-rs has no self-trade prevention, so a few orders differ)",
        "refused", engine.refused, baseline.refused
    );
    println!("latency ns (open loop, from planned send time), pinwheel | orderbook-rs");
    println!(
        "{:<10} {:>8} {:>8} {:>8} {:>8} {:>10} | {:>8} {:>8} {:>8} {:>10} {:>12}",
        "rate", "p50", "p99", "p99.9", "p99.99", "max", "p50", "p99", "p99.9", "max", "p99.9 ratio"
    );
    for ((name, ours), (_, theirs)) in engine.latency.iter().zip(&baseline.latency) {
        let q = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q);
        println!(
            "{:<10} {:>8} {:>8} {:>8} {:>8} {:>10} | {:>8} {:>8} {:>8} {:>10} {:>11.1}x",
            name,
            q(ours, 0.5),
            q(ours, 0.99),
            q(ours, 0.999),
            q(ours, 0.9999),
            ours.max(),
            q(theirs, 0.5),
            q(theirs, 0.99),
            q(theirs, 0.999),
            theirs.max(),
            q(theirs, 0.999) as f64 / q(ours, 0.999).max(1) as f64
        );
    }
}

/// Pins the measuring thread and starts the background spinner; undone on drop.
pub struct PlacementGuard {
    stop: Arc<AtomicBool>,
    spinner: Option<JoinHandle<()>>,
}

impl PlacementGuard {
    /// Applies `pinning` to the calling thread.
    pub fn apply(pinning: &Pinning) -> anyhow::Result<Self> {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let core = pinning
            .core
            .or_else(|| cores.last().map(|core| core.id))
            .unwrap_or(0);
        if !pinning.no_pin {
            let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: core });
            anyhow::ensure!(pinned, "could not pin the measuring thread to core {core}");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = if pinning.background_load {
            let other = cores.iter().map(|c| c.id).find(|&id| id != core);
            let stop = Arc::clone(&stop);
            Some(std::thread::spawn(move || {
                if let Some(id) = other {
                    core_affinity::set_for_current(core_affinity::CoreId { id });
                }
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            }))
        } else {
            None
        };
        Ok(Self { stop, spinner })
    }
}

impl Drop for PlacementGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(spinner) = self.spinner.take() {
            let _ = spinner.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinwheel_engine::alloc_count::CountingAllocator;

    /// This test binary counts allocations, so the figure below is measured, not absent.
    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    #[test]
    fn tiny_run_reports_every_figure() {
        let args = Args {
            tiny: true,
            seconds: 0.01,
            commands: 0,
            seed: 7,
            pinning: Pinning {
                pin: false,
                no_pin: true,
                core: None,
                background_load: false,
            },
        };
        let value = run(&args).unwrap();
        assert_eq!(value["bench"], "engine");
        assert!(value["ops_per_sec"].as_f64().unwrap() > 0.0);
        assert!(value["baseline_ops_per_sec"].as_f64().unwrap() > 0.0);
        assert!(value["allocs_per_op"].as_f64().unwrap() < 0.01, "{value}");
        for key in ["latency_ns", "baseline_latency_ns"] {
            for rate in ["125000", "1000000", "5000000", "max"] {
                let p = &value[key][rate];
                let (p50, max) = (p["p50"].as_u64().unwrap(), p["max"].as_u64().unwrap());
                assert!(
                    p50 > 0
                        && p50 <= p["p99"].as_u64().unwrap()
                        && p["p9999"].as_u64().unwrap() <= max
                );
            }
        }
    }
}

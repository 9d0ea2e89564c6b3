//! `pinwheel tune jitter`: a thread pinned to one core reads the clock in a tight loop; any
//! gap between two reads longer than the loop itself is time the core was taken away
//! (an interrupt, the scheduler tick, another task, an SMI, the hypervisor).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use serde::Serialize;

/// How many of the largest gaps are kept.
const WORST_KEPT: usize = 10;

/// Gaps above this count as stolen time.
const STOLEN_THRESHOLD_NS: u64 = 10_000;

/// Largest gap the histogram records exactly (longer ones are clamped): 10 s.
const HISTOGRAM_MAX_NS: u64 = 10_000_000_000;

/// One large gap: when it started (from the start of the run) and how long it was.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Gap {
    /// Offset of the gap's start from the start of the run, nanoseconds.
    pub at_ns: u64,
    /// Length, nanoseconds.
    pub gap_ns: u64,
}

/// The result of one jitter run.
#[derive(Clone, Debug, Serialize)]
pub struct JitterReport {
    /// The core measured.
    pub core: usize,
    /// Length of the run, seconds.
    pub seconds: f64,
    /// Clock reads (gaps measured).
    pub samples: u64,
    /// Gap percentiles, nanoseconds: p50, p90, p99, p999, p9999, max.
    pub gap_ns: Percentiles,
    /// The largest gaps, largest first.
    pub worst: Vec<Gap>,
    /// Share of the run lost in gaps above 10 us, percent.
    pub stolen_pct: f64,
}

/// Latency percentiles, nanoseconds.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th.
    pub p99: u64,
    /// 99.9th.
    pub p999: u64,
    /// 99.99th.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// Reads the percentiles of an HDR histogram.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            p50: histogram.value_at_quantile(0.5),
            p90: histogram.value_at_quantile(0.9),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            p9999: histogram.value_at_quantile(0.9999),
            max: histogram.max(),
        }
    }
}

/// Pins a thread to `core` and measures gaps for `duration`.
pub fn measure(core: usize, duration: Duration) -> anyhow::Result<JitterReport> {
    // get_core_ids lists only the cores this process may run on; read it before pinning.
    let allowed = core_affinity::get_core_ids().context("cannot read the allowed cores")?;
    let Some(core_id) = allowed.iter().copied().find(|c| c.id == core) else {
        let ids: Vec<usize> = allowed.iter().map(|c| c.id).collect();
        bail!("core {core} is not one this process may run on (allowed: {ids:?})");
    };
    let worker = std::thread::Builder::new()
        .name(format!("jitter-{core}"))
        .spawn(move || {
            if !core_affinity::set_for_current(core_id) {
                bail!("cannot pin the measuring thread to core {core}");
            }
            Ok(spin(duration))
        })
        .context("cannot start the measuring thread")?;
    let (histogram, worst, stolen_ns, elapsed) = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the measuring thread panicked"))??;
    Ok(JitterReport {
        core,
        seconds: elapsed.as_secs_f64(),
        samples: histogram.len(),
        gap_ns: Percentiles::of(&histogram),
        worst: worst.into_iter().filter(|gap| gap.gap_ns > 0).collect(),
        stolen_pct: 100.0 * stolen_ns as f64 / elapsed.as_nanos().max(1) as f64,
    })
}

type SpinResult = (Histogram<u64>, Vec<Gap>, u64, Duration);

/// The measuring loop. Everything it needs is allocated before the loop starts.
fn spin(duration: Duration) -> SpinResult {
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).expect("valid bounds");
    let mut worst = [Gap {
        at_ns: 0,
        gap_ns: 0,
    }; WORST_KEPT];
    let mut stolen_ns = 0u64;
    let start = Instant::now();
    let mut previous = start;
    let mut iterations = 0u64;
    loop {
        let now = Instant::now();
        let gap = now.duration_since(previous).as_nanos() as u64;
        histogram.saturating_record(gap.max(1));
        if gap > STOLEN_THRESHOLD_NS {
            stolen_ns += gap;
        }
        // worst is kept sorted, largest first; its last entry is the smallest kept.
        if gap > worst[WORST_KEPT - 1].gap_ns {
            let at_ns = previous.duration_since(start).as_nanos() as u64;
            insert_sorted(&mut worst, Gap { at_ns, gap_ns: gap });
        }
        previous = now;
        iterations += 1;
        if iterations & 1023 == 0 && now.duration_since(start) >= duration {
            break;
        }
    }
    (
        histogram,
        worst.to_vec(),
        stolen_ns,
        previous.duration_since(start),
    )
}

fn insert_sorted(worst: &mut [Gap; WORST_KEPT], gap: Gap) {
    let position = worst
        .iter()
        .position(|kept| gap.gap_ns > kept.gap_ns)
        .expect("caller checked gap beats the smallest");
    worst.copy_within(position..WORST_KEPT - 1, position + 1);
    worst[position] = gap;
    debug_assert!(worst.windows(2).all(|w| w[0].gap_ns >= w[1].gap_ns));
}

impl JitterReport {
    /// The human table.
    pub fn print_table(&self) {
        println!(
            "jitter on core {}: {:.2} s, {} samples, {:.4}% of the time lost in gaps > 10 us",
            self.core, self.seconds, self.samples, self.stolen_pct
        );
        let p = &self.gap_ns;
        println!(
            "{:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
            "p50", "p90", "p99", "p99.9", "p99.99", "max"
        );
        println!(
            "{:>10} {:>10} {:>10} {:>10} {:>10} {:>12}   (ns)",
            p.p50, p.p90, p.p99, p.p999, p.p9999, p.max
        );
        println!("worst gaps:");
        for gap in &self.worst {
            println!(
                "  at {:>10.3} ms: {:>10} ns",
                gap.at_ns as f64 / 1e6,
                gap.gap_ns
            );
        }
    }

    /// The JSON object printed as the last line.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "bench": "jitter",
            "core": self.core,
            "seconds": self.seconds,
            "samples": self.samples,
            "gap_ns": self.gap_ns,
            "worst_gaps_ns": self.worst.iter().map(|g| g.gap_ns).collect::<Vec<_>>(),
            "stolen_pct": self.stolen_pct,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_gaps_stay_sorted_and_bounded() {
        let mut worst = [Gap {
            at_ns: 0,
            gap_ns: 0,
        }; WORST_KEPT];
        for (i, gap_ns) in [5, 50, 7, 300, 1, 9, 40, 2, 8, 60, 70, 3, 4]
            .iter()
            .enumerate()
        {
            if *gap_ns > worst[WORST_KEPT - 1].gap_ns {
                insert_sorted(
                    &mut worst,
                    Gap {
                        at_ns: i as u64,
                        gap_ns: *gap_ns,
                    },
                );
            }
        }
        let kept: Vec<u64> = worst.iter().map(|g| g.gap_ns).collect();
        assert_eq!(kept, vec![300, 70, 60, 50, 40, 9, 8, 7, 5, 4]);
        assert_eq!(worst[0].at_ns, 3);
    }

    #[test]
    fn refuses_a_core_it_may_not_use() {
        let error = measure(100_000, Duration::from_millis(1)).unwrap_err();
        assert!(error.to_string().contains("core 100000"), "{error}");
    }
}

//! Closed-loop throughput and open-loop latency over a pre-generated command stream.
//!
//! Open loop: command i is planned at `start + i / rate`; the loop waits (spinning) until
//! then if it is early, and the latency runs from the planned time to the end of the
//! command, so a stall delays every command behind it and shows up in the tail (no
//! coordinated omission).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Something that applies command `index` of the stream.
pub trait Target {
    /// Applies command `index`.
    fn apply(&mut self, index: usize);
}

/// Longest latency the histograms hold (60 s); longer ones are clamped.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// A histogram for latencies in nanoseconds, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}

/// Applies commands `0..count` back to back; returns the elapsed time.
pub fn closed_loop(target: &mut impl Target, count: usize) -> Duration {
    let start = Instant::now();
    for index in 0..count {
        target.apply(index);
    }
    start.elapsed()
}

/// Applies commands `0..count` at `rate` per second, open loop; returns the latencies
/// and the elapsed time.
pub fn open_loop(target: &mut impl Target, count: usize, rate: u64) -> (Histogram<u64>, Duration) {
    assert!(rate > 0, "rate must be positive");
    let mut histogram = latency_histogram();
    let start = Instant::now();
    for index in 0..count {
        let planned_ns = (index as u128 * 1_000_000_000 / rate as u128) as u64;
        let planned = start + Duration::from_nanos(planned_ns);
        while Instant::now() < planned {
            std::hint::spin_loop();
        }
        target.apply(index);
        let latency = planned.elapsed().as_nanos() as u64;
        histogram.saturating_record(latency.max(1));
    }
    (histogram, start.elapsed())
}

/// The percentiles the reports use, in nanoseconds.
pub fn percentiles(histogram: &Histogram<u64>) -> serde_json::Value {
    serde_json::json!({
        "p50": histogram.value_at_quantile(0.5),
        "p99": histogram.value_at_quantile(0.99),
        "p999": histogram.value_at_quantile(0.999),
        "p9999": histogram.value_at_quantile(0.9999),
        "max": histogram.max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sleepy {
        slow_at: usize,
    }

    impl Target for Sleepy {
        fn apply(&mut self, index: usize) {
            if index == self.slow_at {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    #[test]
    fn a_stall_delays_the_commands_planned_behind_it() {
        // 1000 commands at 100k/s: one 5 ms stall at the start holds up the ~500 commands
        // planned during it, so a quarter of all latencies exceed 1 ms (a closed loop would
        // record one slow command).
        let (histogram, elapsed) = open_loop(&mut Sleepy { slow_at: 0 }, 1000, 100_000);
        assert_eq!(histogram.len(), 1000);
        assert!(histogram.max() >= 5_000_000, "max {}", histogram.max());
        assert!(histogram.value_at_quantile(0.75) > 1_000_000);
        assert!(elapsed >= Duration::from_millis(9));
        let percentiles = percentiles(&histogram);
        assert!(percentiles["p50"].as_u64().unwrap() <= percentiles["max"].as_u64().unwrap());
    }
}

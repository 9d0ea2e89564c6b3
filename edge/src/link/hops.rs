//! Where an order's time goes between the edge and the engine, per hop, for `bench e2e` and
//! diagnostics: each answered request records its hops into process-wide log-linear
//! histograms (one relaxed add per hop; no allocation, no lock).
//!
//! The hops, from the request task's call into the link to the task running again:
//! `ring_write` (numbering, the pending entry, the push and the engine's doorbell),
//! `to_engine` (the push to the engine's stamp: the engine's wake-up and drain),
//! `engine_to_reader` (the stamp to the edge's reader seeing `Done`: apply, publish, the
//! output ring, the reader's wake-up), `durable_hold` (`Done` read to released: the journal's
//! sync in `sync` durability, 0 otherwise) and `reader_to_task` (the release to the request
//! task resuming: the oneshot and tokio's wake-up). The engine stamps wall-clock time, so the
//! two hops across the process boundary use the wall clock on both sides.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The hops, in path order.
pub const HOPS: [&str; 5] = [
    "ring_write",
    "to_engine",
    "engine_to_reader",
    "durable_hold",
    "reader_to_task",
];

/// Sub-buckets per power of two: values are kept to within 1/16 (6 %).
const SUB: usize = 16;
/// Buckets: exact below 16 ns, then 16 per power of two up to 2^64.
const BUCKETS: usize = SUB + (64 - 4) * SUB;

/// One hop's histogram.
struct HopHistogram {
    buckets: [AtomicU64; BUCKETS],
}

impl HopHistogram {
    const fn new() -> Self {
        Self {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }
}

/// Every hop's histogram, for this process (all links in it share them).
static HISTOGRAMS: [HopHistogram; HOPS.len()] = [const { HopHistogram::new() }; HOPS.len()];

fn bucket_of(nanos: u64) -> usize {
    if nanos < SUB as u64 {
        return nanos as usize;
    }
    let exponent = 63 - nanos.leading_zeros() as usize; // >= 4
    let mantissa = (nanos >> (exponent - 4)) as usize & (SUB - 1);
    SUB + (exponent - 4) * SUB + mantissa
}

/// The smallest value that falls in `bucket` (what the percentiles report).
fn value_of(bucket: usize) -> u64 {
    if bucket < SUB {
        return bucket as u64;
    }
    let exponent = (bucket - SUB) / SUB + 4;
    let mantissa = ((bucket - SUB) % SUB) as u64;
    (SUB as u64 + mantissa) << (exponent - 4)
}

/// The stamps of one answered request (wall-clock ns), in path order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HopStamps {
    /// The request task called the link.
    pub submitted: u64,
    /// The command was in the ring and the engine's doorbell rung.
    pub pushed: u64,
    /// The engine stamped the command.
    pub engine: u64,
    /// The reader read the command's `Done`.
    pub read: u64,
    /// The reader released `Done` (durable, in `sync`) and completed the request.
    pub released: u64,
}

impl HopStamps {
    /// Records every hop, ending with the task resuming at `resumed`.
    pub fn record(&self, resumed: u64) {
        let times = [
            self.submitted,
            self.pushed,
            self.engine,
            self.read,
            self.released,
            resumed,
        ];
        for (hop, pair) in times.windows(2).enumerate() {
            let nanos = pair[1].saturating_sub(pair[0]);
            HISTOGRAMS[hop].buckets[bucket_of(nanos)].fetch_add(1, Relaxed);
        }
    }
}

/// One hop's figures since the last [`take`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopFigures {
    /// The hop's name (see [`HOPS`]).
    pub name: &'static str,
    /// Requests recorded.
    pub count: u64,
    /// Median, ns (within 6 %).
    pub p50_ns: u64,
    /// 99th percentile, ns (within 6 %).
    pub p99_ns: u64,
}

/// Every hop's figures since the last call, and a fresh start.
pub fn take() -> Vec<HopFigures> {
    HOPS.iter()
        .zip(&HISTOGRAMS)
        .map(|(&name, histogram)| {
            let counts: Vec<u64> = histogram
                .buckets
                .iter()
                .map(|b| b.swap(0, Relaxed))
                .collect();
            let count = counts.iter().sum();
            HopFigures {
                name,
                count,
                p50_ns: quantile(&counts, count, 0.50),
                p99_ns: quantile(&counts, count, 0.99),
            }
        })
        .collect()
}

fn quantile(counts: &[u64], total: u64, q: f64) -> u64 {
    if total == 0 {
        return 0;
    }
    let rank = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (bucket, &count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return value_of(bucket);
        }
    }
    value_of(BUCKETS - 1)
}

/// Wall-clock nanoseconds, the clock the engine stamps commands with.
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_values_within_a_sixteenth_and_cover_every_u64() {
        for value in [0u64, 1, 15, 16, 17, 1000, 123_456, 9_999_999_999, u64::MAX] {
            let low = value_of(bucket_of(value));
            assert!(low <= value, "{value}: {low}");
            assert!(value - low <= value / 16, "{value}: {low}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn recorded_hops_come_back_once_with_their_percentiles() {
        let stamps = HopStamps {
            submitted: 1_000,
            pushed: 1_000 + 500,
            engine: 1_500 + 20_000,
            read: 21_500 + 40_000,
            released: 61_500,
        };
        take();
        for _ in 0..100 {
            stamps.record(61_500 + 7_000);
        }
        let figures = take();
        let by = |name| figures.iter().find(|f| f.name == name).unwrap().clone();
        assert_eq!(by("ring_write").count, 100);
        assert!(by("ring_write").p50_ns.abs_diff(500) <= 500 / 16);
        assert!(by("to_engine").p99_ns.abs_diff(20_000) <= 20_000 / 16);
        assert!(by("engine_to_reader").p50_ns.abs_diff(40_000) <= 40_000 / 16);
        assert_eq!(by("durable_hold").p50_ns, 0);
        assert!(by("reader_to_task").p50_ns.abs_diff(7_000) <= 7_000 / 16);
        assert!(take().iter().all(|f| f.count == 0), "take starts afresh");
    }
}

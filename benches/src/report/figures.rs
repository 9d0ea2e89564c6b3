//! Reading figures out of the harnesses' JSON: which figure is compared with which
//! baseline, every numeric leaf, and the percentile series to plot.

use std::cmp::Ordering;

use serde_json::Value;

/// Which figure of which harness is set against which baseline from the same run.
/// (bench, figure path, baseline path, what the baseline is). Paths use '.' between keys.
pub const BASELINES: &[(&str, &str, &str, &str)] = &[
    (
        "ring",
        "rtt_ns",
        "pingpong_ns",
        "bare atomic ping-pong (hardware floor)",
    ),
    (
        "ring",
        "rtt_ns",
        "crossbeam_ns",
        "crossbeam channel ping-pong",
    ),
    (
        "engine",
        "ops_per_sec",
        "baseline_ops_per_sec",
        "orderbook-rs, same commands",
    ),
    (
        "engine",
        "latency_ns",
        "baseline_latency_ns",
        "orderbook-rs, same commands",
    ),
    (
        "journal",
        "ops_per_sec.async",
        "ops_per_sec.none",
        "durability none",
    ),
    (
        "journal",
        "ops_per_sec.sync",
        "ops_per_sec.none",
        "durability none",
    ),
    (
        "journal",
        "sync_ack_ns",
        "fdatasync_ns",
        "the device's raw fdatasync",
    ),
    (
        "journal",
        "sync_ack_ns",
        "group_commit_floor_ns",
        "bare pwrite + fdatasync group commit, same open loop",
    ),
    (
        "e2e",
        "http_rtt_ns",
        "http_floor_ns",
        "bare axum handler, same client",
    ),
    (
        "feed",
        "trades_per_sec",
        "floor_rows_per_sec",
        "questdb-rs alone, same rows",
    ),
];

/// One figure next to its baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Harness name.
    pub bench: String,
    /// Path of the figure, e.g. `rtt_ns.p99`.
    pub figure: String,
    /// Path of the baseline.
    pub baseline: String,
    /// What the baseline is.
    pub baseline_is: String,
    /// The figure's value.
    pub value: f64,
    /// The baseline's value.
    pub baseline_value: f64,
    /// value / baseline_value (`None` when the baseline is zero).
    pub ratio: Option<f64>,
}

/// A latency distribution to plot: (percentile in 0..1 or 1.0 for max, nanoseconds).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The JSON path it came from, e.g. `http_rtt_ns.10000`.
    pub label: String,
    /// Points sorted by percentile.
    pub points: Vec<(f64, f64)>,
}

/// The value at a dotted path.
pub fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |node, key| node.get(key))
}

/// Every figure of `bench`'s JSON next to its baseline, by the [`BASELINES`] table.
pub fn comparisons(bench: &str, json: &Value) -> Vec<Comparison> {
    let mut rows = Vec::new();
    for &(name, figure, baseline, baseline_is) in BASELINES {
        if name != bench {
            continue;
        }
        if let (Some(f), Some(b)) = (at(json, figure), at(json, baseline)) {
            let mut pairs = Vec::new();
            pair_leaves(f, b, "", &mut pairs);
            for (suffix, value, baseline_value) in pairs {
                rows.push(Comparison {
                    bench: bench.to_string(),
                    figure: format!("{figure}{suffix}"),
                    baseline: format!("{baseline}{suffix}"),
                    baseline_is: baseline_is.to_string(),
                    value,
                    baseline_value,
                    ratio: (baseline_value != 0.0).then(|| value / baseline_value),
                });
            }
        }
    }
    rows
}

/// Walks two JSON trees of the same shape and pairs their numeric leaves.
fn pair_leaves(figure: &Value, baseline: &Value, path: &str, out: &mut Vec<(String, f64, f64)>) {
    match (figure, baseline) {
        (Value::Number(f), Value::Number(b)) => {
            if let (Some(f), Some(b)) = (f.as_f64(), b.as_f64()) {
                out.push((path.to_string(), f, b));
            }
        }
        (Value::Object(f), Value::Object(b)) => {
            for key in sorted_keys(f) {
                if let Some(b_child) = b.get(key) {
                    pair_leaves(&f[key], b_child, &format!("{path}.{key}"), out);
                }
            }
        }
        _ => {}
    }
}

/// The dotted path of `key` below `path` (the root's path is empty).
fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every numeric leaf, as (dotted path, value), in display order.
pub fn leaves(json: &Value) -> Vec<(String, f64)> {
    fn walk(node: &Value, path: &str, out: &mut Vec<(String, f64)>) {
        match node {
            Value::Number(n) => out.extend(n.as_f64().map(|v| (path.to_string(), v))),
            Value::Object(map) => {
                for key in sorted_keys(map) {
                    walk(&map[key], &child_path(path, key), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(json, "", &mut out);
    out
}

/// The percentile a key names: `p50` is 0.5, `p999` 0.999, `p9999` 0.9999, `max` 1.
pub fn percentile_of(key: &str) -> Option<f64> {
    if key == "max" {
        return Some(1.0);
    }
    let digits = key.strip_prefix('p')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // "p50" -> 0.50, "p99" -> 0.99, "p999" -> 0.999, "p9999" -> 0.9999.
    let value: f64 = format!("0.{digits}").parse().ok()?;
    (value > 0.0 && value < 1.0).then_some(value)
}

/// Every object that holds latency percentiles (at least p50 and one more), as a series.
pub fn percentile_series(json: &Value) -> Vec<Series> {
    fn walk(node: &Value, path: &str, out: &mut Vec<Series>) {
        let Value::Object(map) = node else { return };
        let points: Vec<(f64, f64)> = sorted_keys(map)
            .into_iter()
            .filter_map(|key| Some((percentile_of(key)?, map[key].as_f64()?)))
            .collect();
        if map.contains_key("p50") && points.len() >= 2 {
            out.push(Series {
                label: path.to_string(),
                points,
            });
            return;
        }
        for key in sorted_keys(map) {
            walk(&map[key], &child_path(path, key), out);
        }
    }
    let mut out = Vec::new();
    walk(json, "", &mut out);
    out
}

/// Keys in display order: percentiles ascending then max, numbers (rates) ascending,
/// then the rest alphabetically.
pub fn sorted_keys(map: &serde_json::Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_by(|a, b| key_order(a, b));
    keys
}

fn key_order(a: &str, b: &str) -> Ordering {
    let rank = |key: &str| -> (u8, f64) {
        if let Some(p) = percentile_of(key) {
            (0, p)
        } else if let Ok(n) = key.parse::<f64>() {
            (1, n)
        } else {
            (2, 0.0)
        }
    };
    let (ra, rb) = (rank(a), rank(b));
    ra.0.cmp(&rb.0)
        .then(ra.1.partial_cmp(&rb.1).unwrap_or(Ordering::Equal))
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percentile_keys_parse() {
        assert_eq!(percentile_of("p50"), Some(0.5));
        assert_eq!(percentile_of("p999"), Some(0.999));
        assert_eq!(percentile_of("p9999"), Some(0.9999));
        assert_eq!(percentile_of("max"), Some(1.0));
        assert_eq!(percentile_of("ops"), None);
        assert_eq!(percentile_of("p"), None);
    }

    #[test]
    fn nested_rates_pair_by_key_and_ratio_is_figure_over_baseline() {
        let e2e = json!({"bench": "e2e",
            "http_rtt_ns": {"10000": {"p50": 30000, "p99": 90000}, "1000": {"p50": 20000}},
            "http_floor_ns": {"10000": {"p50": 25000, "p99": 60000}, "1000": {"p50": 0}}});
        let rows = comparisons("e2e", &e2e);
        let figures: Vec<&str> = rows.iter().map(|r| r.figure.as_str()).collect();
        assert_eq!(
            figures,
            [
                "http_rtt_ns.1000.p50",
                "http_rtt_ns.10000.p50",
                "http_rtt_ns.10000.p99"
            ]
        );
        assert_eq!(rows[0].ratio, None, "a zero baseline has no ratio");
        assert_eq!(rows[1].ratio, Some(1.2));
        assert_eq!(rows[2].ratio, Some(1.5));
        assert_eq!(rows[2].baseline, "http_floor_ns.10000.p99");
    }

    #[test]
    fn series_are_found_at_any_depth_in_percentile_order() {
        let json = json!({"latency_ns": {"125000": {"max": 9, "p99": 5, "p50": 1}},
                          "ops_per_sec": 3});
        let series = percentile_series(&json);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].label, "latency_ns.125000");
        assert_eq!(series[0].points, vec![(0.5, 1.0), (0.99, 5.0), (1.0, 9.0)]);
        let leaves = leaves(&json);
        assert_eq!(leaves[0], ("latency_ns.125000.p50".to_string(), 1.0));
        assert_eq!(leaves.last().unwrap(), &("ops_per_sec".to_string(), 3.0));
    }
}

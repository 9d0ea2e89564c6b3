//! Request counters and latency histograms by route, rendered as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 1.0, 10.0,
];

#[derive(Default, Clone)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Per-route request statistics.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl Metrics {
    /// Records one request.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut routes = self.routes.lock().expect("metrics lock");
        let stats = routes
            .entry((method.to_string(), route.to_string()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        stats.count += 1;
        stats.sum_seconds += seconds;
        for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// Appends the request metrics in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let routes = self.routes.lock().expect("metrics lock").clone();
        out.push_str("# HELP pinwheel_edge_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE pinwheel_edge_requests_total counter\n");
        for ((method, route), stats) in &routes {
            for (status, count) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "pinwheel_edge_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP pinwheel_edge_request_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE pinwheel_edge_request_seconds histogram\n");
        for ((method, route), stats) in &routes {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (count, bound) in stats.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "pinwheel_edge_request_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "pinwheel_edge_request_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "pinwheel_edge_request_seconds_sum{{{labels}}} {}",
                stats.sum_seconds
            );
            let _ = writeln!(
                out,
                "pinwheel_edge_request_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
    }
}

/// Appends one gauge or counter line with its HELP and TYPE.
pub fn write_metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record("POST", "/api/v1/order", 200, Duration::from_micros(80));
        metrics.record("POST", "/api/v1/order", 422, Duration::from_millis(3));
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(out.contains(
            r#"pinwheel_edge_requests_total{method="POST",route="/api/v1/order",status="200"} 1"#
        ));
        assert!(out.contains(r#"status="422"} 1"#));
        assert!(
            out.contains(r#"route="/api/v1/order",le="0.0001"} 1"#),
            "{out}"
        );
        assert!(
            out.contains(r#"route="/api/v1/order",le="0.005"} 2"#),
            "{out}"
        );
        assert!(out.contains(
            r#"pinwheel_edge_request_seconds_count{method="POST",route="/api/v1/order"} 2"#
        ));
    }
}

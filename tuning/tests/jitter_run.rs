//! A short real jitter run on an allowed core returns sane numbers.

use std::time::Duration;

use pinwheel_tuning::jitter;

#[test]
fn short_jitter_run_measures_gaps() {
    let core = core_affinity::get_core_ids().unwrap()[0].id;
    let report = jitter::measure(core, Duration::from_millis(200)).unwrap();
    assert_eq!(report.core, core);
    assert!(report.seconds >= 0.2 && report.seconds < 5.0, "{report:?}");
    // A clock read takes well under 10 us, so a 0.2 s loop reads it many thousand times.
    assert!(report.samples > 10_000, "{report:?}");
    let p = report.gap_ns;
    assert!(p.p50 > 0 && p.p50 < 10_000, "{report:?}");
    assert!(
        p.p50 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.max,
        "{report:?}"
    );
    assert!(!report.worst.is_empty());
    assert!(report.worst.windows(2).all(|w| w[0].gap_ns >= w[1].gap_ns));
    // The histogram's max is the exact largest gap up to its 3-digit precision.
    let largest = report.worst[0].gap_ns;
    assert!(p.max.abs_diff(largest) <= largest / 500 + 1, "{report:?}");
    assert!((0.0..=100.0).contains(&report.stolen_pct));
    let json = report.to_json();
    assert_eq!(json["bench"], "jitter");
    assert_eq!(json["gap_ns"]["p50"], p.p50);
}

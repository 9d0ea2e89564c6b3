//! PNG plots of latency percentile distributions, HDR style: the x axis is 1/(1-p) on a
//! log scale, so p50, p90, p99, p99.9 and p99.99 are evenly spaced and the tail shows.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::anyhow;
use plotters::prelude::*;

use super::figures::Series;

/// Plot size in pixels.
const SIZE: (u32, u32) = (960, 600);

/// Fonts tried for the labels, in order. Debian's fonts-dejavu-core and
/// fonts-liberation provide them; `PINWHEEL_FONT` names another.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a system font with plotters once; false if none could be loaded, in which
/// case plots are drawn without text (the report's tables carry the numbers).
pub fn fonts_available() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let from_env = std::env::var("PINWHEEL_FONT").ok();
        let candidates = from_env
            .iter()
            .map(String::as_str)
            .chain(FONT_CANDIDATES.iter().copied());
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                // Plotters keeps fonts for the life of the process; leaking one file is that.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        tracing::warn!("no TrueType font found; plots are drawn without labels");
        false
    })
}

/// Where a percentile sits on the x axis: 1/(1-p). `max` (p = 1) goes one decade past the
/// highest finite percentile.
fn x_of(p: f64, highest_finite_x: f64) -> f64 {
    if p >= 1.0 {
        highest_finite_x * 10.0
    } else {
        1.0 / (1.0 - p)
    }
}

/// Axis label of an x position: 2 -> "50%", 1000 -> "99.9%".
fn percentile_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 1.0 / x);
    let text = format!("{p:.4}");
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// Nanoseconds in a readable unit.
pub fn duration_label(ns: f64) -> String {
    let (value, unit) = match ns {
        n if n >= 1e9 => (n / 1e9, "s"),
        n if n >= 1e6 => (n / 1e6, "ms"),
        n if n >= 1e3 => (n / 1e3, "us"),
        n => (n, "ns"),
    };
    let text = format!("{value:.3}");
    format!(
        "{} {unit}",
        text.trim_end_matches('0').trim_end_matches('.')
    )
}

/// Plot points of every series: (label, [(x, latency ns)]), and the x of the last finite percentile.
type Lines = Vec<(String, Vec<(f64, f64)>)>;

/// Maps each series' percentiles onto the log x axis; latencies clamp at 1 ns for the log scale.
fn plot_lines(series: &[Series]) -> (Lines, f64) {
    let finite_x = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(p, _)| *p < 1.0)
        .map(|(p, _)| 1.0 / (1.0 - p))
        .fold(2.0_f64, f64::max);
    let lines = series
        .iter()
        .map(|s| {
            let points = s
                .points
                .iter()
                .map(|&(p, ns)| (x_of(p, finite_x), ns.max(1.0)));
            (s.label.clone(), points.collect())
        })
        .collect();
    (lines, finite_x)
}

/// Draws `series` into a PNG at `path`, titled `title`.
pub fn plot_percentiles(path: &Path, title: &str, series: &[Series]) -> anyhow::Result<()> {
    assert!(!series.is_empty(), "a plot needs at least one series");
    let (lines, finite_x) = plot_lines(series);
    let all = lines.iter().flat_map(|(_, points)| points.iter());
    let (x_max, y_min, y_max) = all.fold((2.0_f64, f64::MAX, 1.0_f64), |(x, lo, hi), &(px, py)| {
        (x.max(px), lo.min(py), hi.max(py))
    });
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let text = fonts_available();
    let mut builder = ChartBuilder::on(&root);
    builder
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90);
    if text {
        builder.caption(title, ("sans-serif", 24));
    }
    let mut chart = builder
        .build_cartesian_2d(
            (1.5..x_max * 1.5).log_scale(),
            (y_min.min(y_max) / 1.5..y_max * 1.5).log_scale(),
        )
        .map_err(|e| anyhow!("{e}"))?;
    draw_mesh(&mut chart, text, finite_x)?;
    draw_lines(&mut chart, text, lines)?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// The chart both helpers draw on: log-scaled percentile x and latency y.
type Chart<'a> = ChartContext<'a, BitMapBackend<'a>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// Axes, with labels only when fonts exist (a headless CI box may have none).
fn draw_mesh(chart: &mut Chart, text: bool, finite_x: f64) -> anyhow::Result<()> {
    // Ticks at or past the max's position say "max", not a percentile.
    let max_or_percentile = |x: &f64| {
        if *x >= finite_x * 9.99 {
            "max".to_string()
        } else {
            percentile_label(*x)
        }
    };
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc("percentile (log scale of 1/(1-p); the last point is max)")
            .y_desc("latency")
            .x_label_formatter(&max_or_percentile)
            .y_label_formatter(&|y| duration_label(*y));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw().map_err(|e| anyhow!("{e}"))
}

/// One line with point markers per series, and the legend.
fn draw_lines(chart: &mut Chart, text: bool, lines: Lines) -> anyhow::Result<()> {
    for (index, (label, points)) in lines.into_iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let line = chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?;
        if text {
            line.label(label).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(|e| anyhow!("{e}"))?;
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_read_as_percentiles_and_durations() {
        assert_eq!(percentile_label(2.0), "50%");
        assert_eq!(percentile_label(1000.0), "99.9%");
        assert_eq!(percentile_label(10000.0), "99.99%");
        assert_eq!(duration_label(1500.0), "1.5 us");
        assert_eq!(duration_label(10_000_000.0), "10 ms");
        assert_eq!(duration_label(250.0), "250 ns");
        assert_eq!(x_of(0.99, 1000.0), 1.0 / (1.0 - 0.99));
        assert_eq!(x_of(1.0, 1000.0), 10000.0);
    }
}

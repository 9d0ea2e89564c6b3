//! The report page: machine, figures against baselines, the pinning table, every figure.

use std::fmt::Write;

use serde_json::Value;

use super::figures::{self, Comparison};
use super::runner::HarnessRun;
use super::{Machine, PinningRun};

/// A number as the tables show it: integers plain, others with up to 3 decimals.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}x"))
}

fn status(run: &HarnessRun) -> String {
    match &run.outcome {
        Ok(_) => "ok".to_string(),
        Err(reason) => format!("**failed**: {}", reason.replace('|', "\\|")),
    }
}

/// The whole page.
pub fn page(
    machine: &Machine,
    harnesses: &[HarnessRun],
    pinning: &[PinningRun],
    comparisons: &[Comparison],
    plots: &[(String, String)],
) -> String {
    let mut md = String::from("# Pinwheel benchmark report\n\n");
    machine_section(&mut md, machine);
    summary_section(&mut md, harnesses);
    comparison_section(&mut md, comparisons);
    pinning_section(&mut md, pinning);
    plots_section(&mut md, plots);
    figures_section(&mut md, harnesses);
    md
}

fn machine_section(md: &mut String, m: &Machine) {
    let _ = writeln!(md, "## Machine\n\n| | |\n|---|---|");
    let rows = [
        ("CPU model", m.cpu_model.clone()),
        ("cores online", m.cores.to_string()),
        ("cores this run may use", m.allowed_cores.clone()),
        ("kernel", m.kernel.clone()),
        ("governor", m.governor.clone()),
        ("isolated cores", m.isolated.clone()),
        ("pinning used", m.pinning.clone()),
        ("command", format!("`{}`", m.command)),
    ];
    for (name, value) in rows {
        let _ = writeln!(md, "| {name} | {value} |");
    }
    md.push('\n');
}

fn summary_section(md: &mut String, harnesses: &[HarnessRun]) {
    let _ = writeln!(
        md,
        "## Harnesses\n\n| harness | command | seconds | status |\n|---|---|---|---|"
    );
    for run in harnesses {
        let _ = writeln!(
            md,
            "| {} | `pinwheel {}` | {:.1} | {} |",
            run.name,
            run.args.join(" "),
            run.seconds,
            status(run)
        );
    }
    md.push('\n');
}

fn comparison_section(md: &mut String, rows: &[Comparison]) {
    let _ = writeln!(
        md,
        "## Figures against their baselines (same run)\n\n\
         Ratio is figure / baseline: for latencies lower is better, for rates higher is.\n\n\
         | harness | figure | value | baseline | baseline value | ratio |\n|---|---|---|---|---|---|"
    );
    if rows.is_empty() {
        let _ = writeln!(
            md,
            "| - | no harness produced a figure with its baseline | | | | |"
        );
    }
    for row in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} ({}) | {} | {} |",
            row.bench,
            row.figure,
            number(row.value),
            row.baseline,
            row.baseline_is,
            number(row.baseline_value),
            ratio(row.ratio)
        );
    }
    md.push('\n');
}

/// Throughput and the latency percentiles of the lowest rate an engine run reports.
fn engine_figures(json: &Value) -> (Option<f64>, Option<(String, Value)>) {
    let ops = json.get("ops_per_sec").and_then(Value::as_f64);
    let lowest_rate = json
        .get("latency_ns")
        .and_then(Value::as_object)
        .and_then(|rates| {
            let key = figures::sorted_keys(rates).first().copied()?;
            Some((key.to_string(), rates[key].clone()))
        });
    (ops, lowest_rate)
}

fn pinning_section(md: &mut String, pinning: &[PinningRun]) {
    let _ = writeln!(
        md,
        "## What pinning buys (engine benchmark)\n\n\
         Background load: a thread spinning through 8 MiB of memory on core {}, started by \
         this runner.\n\n\
         | variant | status | ops/s | vs pinned, quiet | rate | p50 ns | p99 ns | p99.9 ns | max ns |\n\
         |---|---|---|---|---|---|---|---|---|",
        pinning
            .iter()
            .find_map(|p| p.load_core)
            .map_or("-".to_string(), |c| c.to_string())
    );
    let reference = pinning
        .first()
        .and_then(|p| p.run.outcome.as_ref().ok())
        .and_then(|json| json.get("ops_per_sec")?.as_f64());
    for variant in pinning {
        let (ops, latency) = match &variant.run.outcome {
            Ok(json) => engine_figures(json),
            Err(_) => (None, None),
        };
        let cell = |key: &str| {
            latency
                .as_ref()
                .and_then(|(_, p)| p.get(key)?.as_f64())
                .map_or("-".to_string(), number)
        };
        let versus = match (ops, reference) {
            (Some(ops), Some(reference)) if reference > 0.0 => format!("{:.2}x", ops / reference),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {versus} | {} | {} | {} | {} | {} |",
            variant.label,
            status(&variant.run),
            ops.map_or("-".to_string(), number),
            latency
                .as_ref()
                .map_or("-".to_string(), |(rate, _)| format!("{rate}/s")),
            cell("p50"),
            cell("p99"),
            cell("p999"),
            cell("max")
        );
    }
    md.push('\n');
}

fn plots_section(md: &mut String, plots: &[(String, String)]) {
    let _ = writeln!(
        md,
        "## Latency distributions\n\nx: percentile on an HDR log axis (1/(1-p)), the last \
         point of each line is the max; y: latency, log scale.\n"
    );
    for (bench, file) in plots {
        let _ = writeln!(
            md,
            "### {bench}\n\n![{bench} latency percentiles]({file})\n"
        );
    }
}

fn figures_section(md: &mut String, harnesses: &[HarnessRun]) {
    let _ = writeln!(md, "## Every figure\n");
    for run in harnesses {
        let Ok(json) = &run.outcome else { continue };
        let _ = writeln!(md, "### {}\n\n| figure | value |\n|---|---|", run.name);
        for (path, value) in figures::leaves(json) {
            let _ = writeln!(md, "| {path} | {} |", number(value));
        }
        md.push('\n');
    }
}

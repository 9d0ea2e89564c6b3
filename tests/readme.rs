//! The README's commands, run against the real binary, so a documented command cannot drift
//! from the CLI or the API.
//!
//! - Every `pinwheel ...` (or `cargo run ... -- ...`) command in the README, in a ```sh block
//!   or an inline code span, must parse: it is run with `--help` appended (clap rejects an
//!   unknown flag or a misplaced option before it looks at `--help`). Placeholders in
//!   capitals (`DIR`, `N`, `FILE.csv`) stand for `1`; `[--flag]` is the optional flag.
//! - Every ```sh block is then run for real, except those marked ```` ```sh no-run ````
//!   (the whole test suite, QuestDB's server, the long-running demo; other tests run them):
//!   the exchange runs as the README's configuration section starts it,
//!   `pinwheel --config pinwheel.toml up` (the short-lived form: until the block is done),
//!   and the blocks run in bash against it, in README order, where every `curl` must get a
//!   2xx answer, or a 422 (an engine reject that depends on the book, such as NO_LIQUIDITY),
//!   and every `pinwheel` command (the operator controls) must succeed.

mod common;

use std::time::Duration;

use common::{free_port_run, run_bounded, Api, TestDirs};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The README's fenced blocks: (info string, body).
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// Inline code spans of the prose (outside fenced blocks).
fn inline_spans(text: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.replace('\n', " "))
        .collect()
}

/// A line or span as `pinwheel` arguments, if it runs the binary.
fn pinwheel_args(command: &str) -> Option<Vec<String>> {
    let command = command.split(" #").next()?.trim();
    let rest = match command.strip_prefix("pinwheel ") {
        Some(rest) => rest,
        None if command.starts_with("cargo run") => command.split_once(" -- ")?.1,
        None => return None,
    };
    let placeholder = |word: &str| {
        let stem = word.split('.').next().unwrap_or(word);
        !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
    };
    let args = rest
        .split_whitespace()
        .map(|word| word.trim_start_matches('[').trim_end_matches(']'))
        .map(|word| if placeholder(word) { "1" } else { word })
        .map(String::from)
        .collect();
    Some(args)
}

#[test]
fn every_pinwheel_command_in_the_readme_parses() {
    let text = readme();
    let mut commands: Vec<Vec<String>> = fenced_blocks(&text)
        .into_iter()
        .filter(|(info, _)| info.starts_with("sh"))
        .flat_map(|(_, body)| body.lines().filter_map(pinwheel_args).collect::<Vec<_>>())
        .collect();
    commands.extend(
        inline_spans(&text)
            .iter()
            .filter_map(|span| pinwheel_args(span)),
    );
    let config_form = ["--config", "pinwheel.toml", "up"]
        .map(String::from)
        .to_vec();
    assert!(
        commands.contains(&config_form),
        "the README shows `pinwheel --config pinwheel.toml up`"
    );
    assert!(
        commands.len() >= 20,
        "found only {} commands: {commands:?}",
        commands.len()
    );
    let mut failed = Vec::new();
    for args in &commands {
        let mut with_help = args.clone();
        with_help.push("--help".into());
        let output = run_bounded(common::pinwheel_exe(), &with_help, Duration::from_secs(10));
        if !output.status.success() {
            failed.push(format!(
                "pinwheel {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "README commands that do not parse:\n{}",
        failed.join("\n")
    );
}

/// Runs every curl of a script through a check of its HTTP status.
const CURL_CHECK: &str = r#"set -euo pipefail
curl() {
  local out code
  out=$(command curl -sS --max-time 10 -w '\n%{http_code}' "$@")
  code=${out##*$'\n'}
  case $code in
    2??|422) printf '%s\n' "${out%$'\n'*}" ;;
    *) echo "README command failed with HTTP $code: curl $*: ${out%$'\n'*}" >&2; return 1 ;;
  esac
}
"#;

#[test]
fn the_readmes_shell_blocks_run_against_pinwheel_up_started_as_the_readme_shows() {
    let text = readme();
    let blocks: Vec<String> = fenced_blocks(&text)
        .into_iter()
        .filter(|(info, _)| info == "sh")
        .map(|(_, body)| body)
        .collect();
    assert!(!blocks.is_empty(), "the README has runnable sh blocks");
    let dirs = TestDirs::new("readme");
    let port = free_port_run(1);
    let config = dirs.root.join("pinwheel.toml");
    let toml = format!(
        "data_dir = {:?}\nrun_dir = {:?}\nwait = \"backoff\"\n[up]\nport = {port}\n",
        dirs.data_dir, dirs.run_dir
    );
    std::fs::write(&config, toml).unwrap();
    // As the README's configuration section starts it: the option before the subcommand.
    let args = [
        "--config".to_string(),
        config.display().to_string(),
        "up".into(),
    ];
    let mut up = common::Proc::spawn("up", common::pinwheel_exe(), &args, &dirs.logs);
    Api::new(port).wait_healthy(Duration::from_secs(60));
    for block in blocks {
        // `pinwheel` is the binary under test; PINWHEEL_CONFIG tells its commands where
        // the exchange runs, as `--config` would.
        let bin_dir = std::path::Path::new(common::pinwheel_exe())
            .parent()
            .unwrap();
        let env = format!("export PATH={bin_dir:?}:\"$PATH\" PINWHEEL_CONFIG={config:?}\n");
        let here = block.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        let script = format!("{CURL_CHECK}{env}{here}");
        let output = run_bounded("bash", &["-c".to_string(), script], Duration::from_secs(60));
        assert!(
            output.status.success(),
            "a README block failed:\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        up.terminate(Duration::from_secs(30)).success(),
        "up stops cleanly"
    );
}

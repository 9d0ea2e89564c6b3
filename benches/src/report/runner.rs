//! Runs one `pinwheel bench ...` as a child process with a time bound and reads the JSON
//! object it prints as its last line. A harness that fails, is missing or times out is
//! recorded with the reason, never hidden.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How often a running child is polled.
const POLL: Duration = Duration::from_millis(50);

/// Characters of a failed child's stderr kept in the report.
const STDERR_KEPT: usize = 600;

/// The result of one harness run.
#[derive(Clone, Debug)]
pub struct HarnessRun {
    /// Harness name, e.g. `engine`.
    pub name: String,
    /// The arguments after the binary.
    pub args: Vec<String>,
    /// Its JSON, or why there is none.
    pub outcome: Result<Value, String>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Runs `exe args...`, waits at most `timeout`, and parses the last stdout line as JSON.
pub fn run_harness(exe: &Path, name: &str, args: &[String], timeout: Duration) -> HarnessRun {
    let start = Instant::now();
    let outcome = run_child(exe, args, timeout);
    HarnessRun {
        name: name.to_string(),
        args: args.to_vec(),
        outcome,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn run_child(exe: &Path, args: &[String], timeout: Duration) -> Result<Value, String> {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout also ends the processes it started.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_bounded(&mut child, timeout);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = status?;
    if !status.success() {
        return Err(format!("exited with {status}: {}", tail(&stderr)));
    }
    let last = stdout.lines().rev().find(|line| !line.trim().is_empty());
    let last = last.ok_or_else(|| format!("printed nothing; stderr: {}", tail(&stderr)))?;
    match serde_json::from_str::<Value>(last) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(format!("last line is not a JSON object: {}", tail(last))),
    }
}

fn wait_bounded(child: &mut Child, timeout: Duration) -> Result<std::process::ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child);
                let _ = child.wait();
                return Err(format!(
                    "timed out after {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(error) => return Err(format!("cannot wait for the child: {error}")),
        }
    }
}

fn kill_group(child: &mut Child) {
    let group = child.id() as libc::pid_t;
    // SAFETY: kill(2) takes plain integers; a negative pid names the process group this
    // runner created for the child (process_group(0) above), so it signals nothing else.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
    let _ = child.kill();
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

fn tail(text: &str) -> String {
    let text = text.trim();
    let start = text
        .char_indices()
        .rev()
        .nth(STDERR_KEPT)
        .map_or(0, |(index, _)| index);
    let lines: Vec<&str> = text[start..]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" / ")
}

/// A thread pinned to one core that keeps it busy (and streams through 8 MiB of memory, so
/// the shared caches feel it too) until dropped: the "background load on the other core".
pub struct BackgroundLoad {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The core it runs on.
    pub core: usize,
}

impl BackgroundLoad {
    /// Starts the load on `core` (which must be one of `core_affinity::get_core_ids()`).
    pub fn start(core: core_affinity::CoreId) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            core_affinity::set_for_current(core);
            let mut buffer = vec![0u64; 1 << 20];
            let mut round = 0u64;
            while !flag.load(Ordering::Relaxed) {
                for (index, slot) in buffer.iter_mut().enumerate().step_by(8) {
                    *slot = slot.wrapping_add(round ^ index as u64);
                }
                round = round.wrapping_add(1);
                std::hint::black_box(&buffer);
            }
        });
        Self {
            stop,
            thread: Some(thread),
            core: core.id,
        }
    }
}

impl Drop for BackgroundLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> HarnessRun {
        let args = vec!["-c".to_string(), script.to_string()];
        run_harness(Path::new("/bin/sh"), "t", &args, timeout)
    }

    #[test]
    fn last_json_line_is_the_result() {
        let run = sh(
            "echo table; echo '{\"bench\":\"x\",\"v\":1}'; echo",
            Duration::from_secs(10),
        );
        assert_eq!(run.outcome.unwrap()["v"], 1);
    }

    #[test]
    fn failures_are_recorded_with_the_reason() {
        let failed = sh(
            "echo 'unknown flag --tiny' >&2; exit 2",
            Duration::from_secs(10),
        );
        let reason = failed.outcome.unwrap_err();
        assert!(reason.contains("unknown flag --tiny"), "{reason}");
        let not_json = sh("echo done", Duration::from_secs(10))
            .outcome
            .unwrap_err();
        assert!(not_json.contains("not a JSON object"), "{not_json}");
        let missing = run_harness(
            Path::new("/nonexistent/pinwheel"),
            "t",
            &[],
            Duration::from_secs(1),
        );
        assert!(missing.outcome.unwrap_err().contains("cannot start"));
    }

    #[test]
    fn a_hung_harness_is_killed_at_the_deadline() {
        let start = Instant::now();
        let run = sh("sleep 30", Duration::from_millis(300));
        assert!(run.outcome.unwrap_err().contains("timed out"));
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}

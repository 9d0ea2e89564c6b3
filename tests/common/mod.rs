//! Shared by the root tests that run the real `pinwheel` binary: temporary directories, free
//! ports, bounded waits, child processes that are killed (with their whole process group) when
//! dropped, even when the test panics, and a small client for the REST API.
#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Small pools, so every engine start is quick, and 1 MiB journal segments, so the journal
/// rolls over during a test; `journal` adds keys to the `[journal]` table and `more` adds
/// tables after the pools.
pub fn small_exchange(journal: &str, more: &str) -> String {
    format!(
        "[journal]\nsegment_mib = 1\n{journal}\n
[engine.capacity]
orders = 65536
users = 256
price_levels = 4096
api_keys = 64
depth_levels = 100
{more}"
    )
}

/// [`small_exchange`] with frequent snapshots.
pub fn small_exchange_with_snapshots() -> String {
    small_exchange("snapshot_every = 50", "")
}

/// The binary under test.
pub fn pinwheel_exe() -> &'static str {
    env!("CARGO_BIN_EXE_pinwheel")
}

/// Waits with growing sleeps (1 ms up to 50 ms) until `ready` returns `Some`, at most `limit`;
/// panics naming `what` when the time is up.
pub fn wait_for<T>(what: &str, limit: Duration, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Like [`wait_for`] with a condition.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    wait_for(what, limit, || ready().then_some(()))
}

/// A port that was free a moment ago (bind to port 0, read it, release it).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// `count` consecutive free ports (`pinwheel up` gives edge i the port P + i).
pub fn free_port_run(count: u16) -> u16 {
    for _ in 0..200 {
        let first = free_port();
        if first.checked_add(count).is_none() {
            continue;
        }
        let all_free = (first..first + count)
            .all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if all_free {
            return first;
        }
    }
    panic!("no run of {count} free ports found");
}

/// A temporary tree `<tmp>/pinwheel-<name>-<pid>-<n>/{run,data,logs}`, removed on drop unless
/// the test panicked (then it is kept and named, for the post-mortem). Dropping it also kills
/// any process still running from it (found by the tree's path on its command line).
pub struct TestDirs {
    /// The root of the tree.
    pub root: PathBuf,
    /// `--run-dir` (rings, durable cursor).
    pub run_dir: PathBuf,
    /// `--data-dir` (journal, snapshots).
    pub data_dir: PathBuf,
    /// Child process logs.
    pub logs: PathBuf,
    /// The configuration file every process gets, once written.
    config: std::cell::OnceCell<PathBuf>,
}

impl TestDirs {
    /// Creates a fresh tree.
    pub fn new(name: &str) -> TestDirs {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("pinwheel-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dirs = TestDirs {
            run_dir: root.join("run"),
            data_dir: root.join("data"),
            logs: root.join("logs"),
            root,
            config: std::cell::OnceCell::new(),
        };
        for dir in [&dirs.run_dir, &dirs.data_dir, &dirs.logs] {
            std::fs::create_dir_all(dir).unwrap();
        }
        dirs
    }

    /// The flags every process of this tree gets, after its role (`engine`, `edge`, ...).
    pub fn common_flags(&self) -> Vec<String> {
        let config = self
            .config
            .get()
            .map(|path| ["--config".to_string(), path.display().to_string()]);
        let mut flags: Vec<String> = config.into_iter().flatten().collect();
        flags.extend([
            "--run-dir".into(),
            self.run_dir.display().to_string(),
            "--data-dir".into(),
            self.data_dir.display().to_string(),
            "--wait".into(),
            "backoff".into(),
            "--durability".into(),
            "sync".into(),
        ]);
        flags
    }

    /// Writes the configuration file every process of the tree gets from now on (once).
    pub fn write_config(&self, toml: &str) -> PathBuf {
        let path = self.root.join("pinwheel.toml");
        std::fs::write(&path, toml).unwrap();
        self.config
            .set(path.clone())
            .expect("the configuration is written once");
        path
    }

    /// Spawns `pinwheel <args> <common flags>`; stdout and stderr go to `logs/<name>.{out,err}`.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        let mut all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        all.extend(self.common_flags());
        Proc::spawn(name, pinwheel_exe(), &all, &self.logs)
    }

    /// Runs `pinwheel <args> <common flags>` to its end (at most `limit`), returning its output.
    pub fn run(&self, args: &[&str], limit: Duration) -> Output {
        let mut all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        all.extend(self.common_flags());
        run_bounded(pinwheel_exe(), &all, limit)
    }

    /// Runs `pinwheel <args>` (no common flags) to its end, at most `limit`.
    pub fn run_plain(&self, args: &[&str], limit: Duration) -> Output {
        let all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        run_bounded(pinwheel_exe(), &all, limit)
    }

    /// Pids of live processes whose command line mentions this tree (children of children too).
    pub fn processes(&self) -> Vec<u32> {
        processes_with_arg(&self.root.display().to_string())
    }
}

impl Drop for TestDirs {
    fn drop(&mut self) {
        for pid in self.processes() {
            kill_pid(pid, libc::SIGKILL);
        }
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Sends `signal` to `pid` (a process this test started).
pub fn kill_pid(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a pid of a process this test started and a valid signal number.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// The command line of `pid` as its arguments (empty if it is gone).
pub fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Live processes with an argument containing `needle`, this process excluded.
pub fn processes_with_arg(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && alive(pid))
        .filter(|&pid| cmdline(pid).iter().any(|arg| arg.contains(needle)))
        .collect()
}

/// Live `pinwheel` processes of the tree whose role (the first argument) is `role`, e.g.
/// "engine", "edge", "journal", "up".
pub fn role_pids(dirs: &TestDirs, role: &str) -> Vec<u32> {
    dirs.processes()
        .into_iter()
        .filter(|&pid| cmdline(pid).get(1).map(String::as_str) == Some(role))
        .collect()
}

/// Runs a program to its end with a time bound; kills it (and its group) when over.
pub fn run_bounded(program: &str, args: &[String], limit: Duration) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().expect("spawn");
    let pid = child.id();
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            kill_group(pid, libc::SIGKILL);
            let _ = child.wait();
            panic!(
                "`{program} {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn kill_group(leader: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on the process group this test created for its child (negative pid).
    unsafe { libc::kill(-(leader as libc::pid_t), signal) };
}

/// A child process in its own process group. Dropping it SIGKILLs the whole group and reaps it.
pub struct Proc {
    /// A name for messages and log files.
    pub name: String,
    child: Option<Child>,
    pid: u32,
    /// Its stderr log file.
    pub stderr_path: PathBuf,
    /// Its stdout log file.
    pub stdout_path: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `program args` with stdout and stderr appended to `<logs>/<name>.{out,err}`.
    pub fn spawn(name: &str, program: &str, args: &[String], logs: &Path) -> Proc {
        let stdout_path = logs.join(format!("{name}.out"));
        let stderr_path = logs.join(format!("{name}.err"));
        let open = |path: &Path| {
            File::options()
                .create(true)
                .append(true)
                .open(path)
                .unwrap()
        };
        // Each start gets a fresh log (restarted processes take new names).
        std::fs::write(&stderr_path, b"").unwrap();
        let child = Command::new(program)
            .args(args)
            .env("NO_COLOR", "1")
            .env("PINWHEEL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(open(&stdout_path))
            .stderr(open(&stderr_path))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        Proc {
            name: name.into(),
            pid: child.id(),
            child: Some(child),
            stderr_path,
            stdout_path,
            status: None,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its exit status, if it has exited (reaps it).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Some(child) = &mut self.child {
                self.status = child.try_wait().unwrap();
            }
        }
        self.status
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Sends a signal to the process (not its group).
    pub fn signal(&self, signal: libc::c_int) {
        if self.status.is_none() {
            kill_pid(self.pid, signal);
        }
    }

    /// Waits (bounded) for it to exit; panics if it does not.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let name = self.name.clone();
        wait_for(&format!("{name} to exit"), limit, || self.try_status())
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(10))
    }

    /// SIGTERM, then wait (bounded) for a clean exit.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(limit)
    }

    /// Everything it wrote to stderr so far (its log), ANSI escapes removed.
    pub fn stderr(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.stderr_path).unwrap_or_default())
    }

    /// Everything it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Waits (bounded) until its log contains `text`; panics with the log if it exits first.
    pub fn wait_for_log(&mut self, text: &str, limit: Duration) {
        let what = format!("{} to log {text:?}", self.name);
        wait_until(&what, limit, || {
            if let Some(status) = self.try_status() {
                panic!(
                    "{} exited ({status}) before logging {text:?}:\n{}",
                    self.name,
                    self.stderr()
                );
            }
            self.stderr().contains(text)
        });
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.status.is_none() {
                kill_group(self.pid, libc::SIGKILL);
                let _ = child.wait();
            } else {
                // The leader is gone; anything it started in its group goes too.
                kill_group(self.pid, libc::SIGKILL);
            }
        }
    }
}

/// Removes ANSI colour sequences (`ESC [ ... letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `key=` in the last log line containing `marker`, e.g.
/// `log_field(log, "engine stopped", "state_hash")`.
pub fn log_field(log: &str, marker: &str, key: &str) -> Option<String> {
    let line = log.lines().rev().find(|line| line.contains(marker))?;
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    let value = line[start..].split_whitespace().next()?;
    Some(value.trim_matches('"').to_string())
}

/// The value after `key: ` on a line of a command's stdout, e.g. `state hash: 0123...`.
pub fn output_field(stdout: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(stdout);
    let prefix = format!("{key}: ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().to_string())
}

/// `journal replay DIR --full` and `journal replay DIR` (from the newest snapshot) agree, and
/// `journal verify DIR` passes; returns the state hash and the last sequence.
pub fn offline_hash_checks(dirs: &TestDirs) -> (String, u64) {
    let data = dirs.data_dir.display().to_string();
    let verify = dirs.run_plain(&["journal", "verify", &data], Duration::from_secs(60));
    assert!(
        verify.status.success(),
        "journal verify failed: {}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let full = dirs.run(
        &["journal", "replay", &data, "--full"],
        Duration::from_secs(60),
    );
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let hash = output_field(&full.stdout, "state hash").expect("replay prints the state hash");
    let last: u64 = output_field(&full.stdout, "last sequence")
        .expect("replay prints the last sequence")
        .parse()
        .unwrap();
    let recovered = dirs.run(&["journal", "replay", &data], Duration::from_secs(60));
    assert!(
        recovered.status.success(),
        "{}",
        String::from_utf8_lossy(&recovered.stderr)
    );
    assert_eq!(
        output_field(&recovered.stdout, "state hash").as_deref(),
        Some(hash.as_str()),
        "recovery from the newest snapshot differs from a full replay:\n{}",
        String::from_utf8_lossy(&recovered.stdout)
    );
    (hash, last)
}

/// A seeded generator (xorshift64*), so a failing run can be repeated with its seed.
pub struct Rng(pub u64);

impl Rng {
    /// From `PINWHEEL_SEED` if set, else from the clock; prints the seed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("PINWHEEL_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{test}: PINWHEEL_SEED={seed}");
        Rng(seed | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// Rounds of a crash test: `PINWHEEL_CRASH_ROUNDS`, else `default`.
pub fn crash_rounds(default: usize) -> usize {
    std::env::var("PINWHEEL_CRASH_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// A blocking client for one edge's REST API; every request has a time bound.
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    client: reqwest::blocking::Client,
    /// Bearer token after `signup`.
    pub token: Option<String>,
    /// Sent as `X-API-Key` instead of the token, when set.
    pub api_key: Option<String>,
}

/// An HTTP answer: status and JSON body (`Null` if the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body as JSON.
    pub body: serde_json::Value,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Api {
    /// A client of the edge on `port`; a request without an answer in 10 s fails.
    pub fn new(port: u16) -> Api {
        Api::with_timeout(port, Duration::from_secs(10))
    }

    /// A client whose requests fail after `timeout` without an answer.
    pub fn with_timeout(port: u16, timeout: Duration) -> Api {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        Api {
            base: format!("http://127.0.0.1:{port}"),
            client,
            token: None,
            api_key: None,
        }
    }

    /// The same user on another edge (tokens are valid on every edge).
    pub fn on_port(&self, port: u16) -> Api {
        Api {
            token: self.token.clone(),
            ..Api::new(port)
        }
    }

    /// Sends a request; `Err` when no HTTP answer came (connection refused, reset, timeout).
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.api_key {
            request = request.header("X-API-Key", key);
        } else if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        let text = response.text()?;
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Reply { status, body })
    }

    /// GET.
    pub fn get(&self, path: &str) -> Result<Reply, reqwest::Error> {
        self.request(reqwest::Method::GET, path, None)
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, body: serde_json::Value) -> Result<Reply, reqwest::Error> {
        self.request(reqwest::Method::POST, path, Some(body))
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Result<Reply, reqwest::Error> {
        self.request(reqwest::Method::DELETE, path, None)
    }

    /// Whether `/healthz` answers 200 (the edge runs and sees a live engine).
    pub fn healthy(&self) -> bool {
        self.get("/healthz").is_ok_and(|reply| reply.status == 200)
    }

    /// Waits (bounded) until `/healthz` answers 200.
    pub fn wait_healthy(&self, limit: Duration) {
        wait_until(&format!("{}/healthz", self.base), limit, || self.healthy());
    }

    /// Signs up `username` and keeps the token; returns the user id.
    pub fn signup(&mut self, username: &str) -> u64 {
        let body = serde_json::json!({ "username": username, "password": "correct horse battery" });
        let reply = self.post("/api/v1/signup", body).expect("signup answered");
        assert!(reply.ok(), "signup {username}: {reply:?}");
        self.token = Some(reply.body["token"].as_str().expect("token").to_string());
        json_u64(&reply.body["userId"])
    }

    /// Deposits `amount` (decimal text) of `asset`; panics unless acknowledged.
    pub fn on_ramp(&self, asset: &str, amount: &str) {
        let body = serde_json::json!({ "asset": asset, "amount": amount });
        let reply = self
            .post("/api/v1/on-ramp", body)
            .expect("on-ramp answered");
        assert!(reply.ok(), "on-ramp {amount} {asset}: {reply:?}");
    }
}

/// A JSON number or decimal string as u64 (ids).
pub fn json_u64(value: &serde_json::Value) -> u64 {
    match value {
        serde_json::Value::Number(number) => number.as_u64().expect("a whole number"),
        serde_json::Value::String(text) => text.parse().expect("a whole number"),
        other => panic!("expected a number, got {other}"),
    }
}

/// A decimal (JSON string or number) in units of `10^-decimals`, exactly (no floats).
pub fn json_units(value: &serde_json::Value, decimals: u32) -> i64 {
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(number) => number.to_string(),
        other => panic!("expected a decimal, got {other}"),
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(
        fraction.len() <= decimals as usize,
        "{text} has more than {decimals} decimals"
    );
    let padded = format!("{fraction:0<width$}", width = decimals as usize);
    let units =
        whole.parse::<i64>().unwrap() * 10i64.pow(decimals) + padded.parse::<i64>().unwrap_or(0);
    if negative {
        -units
    } else {
        units
    }
}

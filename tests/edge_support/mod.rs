//! Starts real `pinwheel engine` and `pinwheel edge` processes for the edge's end-to-end
//! tests, and talks to them over HTTP and WebSocket. Every wait is bounded.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Engine plus edges on their own run and data directories; stopped on drop.
pub struct Exchange {
    pub dir: PathBuf,
    durability: String,
    engine: Child,
    edges: Vec<Child>,
    pub ports: Vec<u16>,
}

fn common_args(command: &mut Command, dir: &std::path::Path, durability: &str) {
    command
        .arg("--run-dir")
        .arg(dir.join("run"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--wait", "backoff", "--durability", durability])
        .env("PINWHEEL_LOG", "warn")
        .stdin(Stdio::null());
}

fn spawn_engine(dir: &std::path::Path, durability: &str) -> Child {
    let mut engine = Command::new(binary());
    engine.arg("engine");
    common_args(&mut engine, dir, durability);
    engine.spawn().expect("spawn pinwheel engine")
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_pinwheel")
}

impl Exchange {
    /// An engine and `edges` edge processes, waiting until every edge answers /healthz.
    pub async fn start(name: &str, edges: usize, extra_edge_args: &[&str]) -> Exchange {
        Self::start_with(name, edges, extra_edge_args, "async").await
    }

    /// As [`Exchange::start`], with the journal durability of every process.
    pub async fn start_with(
        name: &str,
        edges: usize,
        extra_edge_args: &[&str],
        durability: &str,
    ) -> Exchange {
        let dir = std::env::temp_dir().join(format!("pinwheel-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let engine = spawn_engine(&dir, durability);
        let mut exchange = Exchange {
            dir: dir.clone(),
            durability: durability.to_string(),
            engine,
            edges: Vec::new(),
            ports: Vec::new(),
        };
        for _ in 0..edges {
            exchange.spawn_edge(extra_edge_args);
        }
        for port in exchange.ports.clone() {
            exchange.wait_healthy(port).await;
        }
        exchange
    }

    fn spawn_edge(&mut self, extra_edge_args: &[&str]) -> u16 {
        let port = crate::common::free_port();
        let mut edge = Command::new(binary());
        edge.arg("edge")
            .args(["--port", &port.to_string()])
            .args(extra_edge_args);
        common_args(&mut edge, &self.dir, &self.durability);
        self.edges.push(edge.spawn().expect("spawn pinwheel edge"));
        self.ports.push(port);
        port
    }

    /// Starts one more edge on the same directories (after trading, say) and waits until it
    /// answers /healthz; returns its index.
    pub async fn add_edge(&mut self, extra_edge_args: &[&str]) -> usize {
        let port = self.spawn_edge(extra_edge_args);
        self.wait_healthy(port).await;
        self.ports.len() - 1
    }

    /// Stops edge `i` (SIGTERM, bounded wait, then SIGKILL) and starts a new edge process
    /// on the same port and directories; waits until it answers /healthz.
    pub async fn restart_edge(&mut self, i: usize, extra_edge_args: &[&str]) {
        let child = &mut self.edges[i];
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        let port = self.ports[i];
        let mut edge = Command::new(binary());
        edge.arg("edge")
            .args(["--port", &port.to_string()])
            .args(extra_edge_args);
        common_args(&mut edge, &self.dir, &self.durability);
        self.edges[i] = edge.spawn().expect("spawn pinwheel edge");
        self.wait_healthy(port).await;
    }

    /// SIGKILLs the engine and starts a new one on the same directories (it recovers from
    /// the journal); waits until every edge answers /healthz again.
    pub async fn crash_engine(&mut self) {
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe { libc::kill(self.engine.id() as i32, libc::SIGKILL) };
        let _ = self.engine.wait();
        self.engine = spawn_engine(&self.dir, &self.durability);
        for port in self.ports.clone() {
            self.wait_healthy(port).await;
        }
    }

    async fn wait_healthy(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            let url = format!("http://127.0.0.1:{port}/healthz");
            if let Ok(response) = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                if response.status() == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.engine.try_wait() {
                panic!("engine exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "edge on port {port} did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Base URL of edge `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// WebSocket URL of edge `i`.
    pub fn ws_url(&self, i: usize) -> String {
        format!("ws://127.0.0.1:{}/ws", self.ports[i])
    }

    /// The JWT secret all edges share.
    pub fn jwt_secret(&self) -> String {
        std::fs::read_to_string(self.dir.join("data").join("jwt.secret"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        for child in self
            .edges
            .iter_mut()
            .chain(std::iter::once(&mut self.engine))
        {
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for child in self
            .edges
            .iter_mut()
            .chain(std::iter::once(&mut self.engine))
        {
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A signed-in user on one edge.
#[derive(Clone)]
pub struct Trader {
    pub base: String,
    pub token: String,
    pub user_id: u64,
    pub client: reqwest::Client,
}

/// HTTP answer: status and JSON body (Null if none).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// Sends one request; `body` is raw text so malformed JSON can be sent too.
pub async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let build = || {
        let mut request = client
            .request(method.clone(), url)
            .timeout(Duration::from_secs(10));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        request
    };
    // An edge answers an oversized body with 413 before reading it and then closes the
    // connection; the kernel may reset it while the client is still writing, so the client
    // can lose the answer. Only a request rejected unread can meet that: send it again.
    let response = match build().send().await {
        Ok(response) => response,
        Err(error) if error.is_request() || error.is_body() => {
            build().send().await.expect("the edge answers")
        }
        Err(error) => panic!("the edge answers: {error}"),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        retry_after,
    }
}

impl Trader {
    /// Signs up a new user on the edge at `base`.
    pub async fn signup(base: &str, name: &str) -> Trader {
        let client = reqwest::Client::new();
        let body = json!({ "username": name, "password": "correct horse battery" }).to_string();
        let answer = send(
            &client,
            "POST",
            &format!("{base}/api/v1/signup"),
            None,
            Some(body),
        )
        .await;
        assert_eq!(answer.status, 201, "signup {name}: {}", answer.body);
        Trader {
            base: base.to_string(),
            token: answer.body["token"].as_str().unwrap().to_string(),
            user_id: answer.body["userId"].as_u64().unwrap(),
            client,
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/api/v1{path}", self.base);
        send(
            &self.client,
            method,
            &url,
            Some(&self.token),
            body.map(|b| b.to_string()),
        )
        .await
    }

    /// Calls and asserts a 2xx status.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let answer = self.call(method, path, body.clone()).await;
        assert!(
            (200..300).contains(&answer.status),
            "{method} {path} {body:?}: {} {}",
            answer.status,
            answer.body
        );
        answer.body
    }

    pub async fn deposit(&self, asset: &str, amount: &str) {
        self.ok(
            "POST",
            "/on-ramp",
            Some(json!({ "asset": asset, "amount": amount })),
        )
        .await;
    }

    pub async fn limit(&self, market: &str, side: &str, price: &str, quantity: &str) -> Value {
        let body = json!({ "market": market, "side": side, "type": "limit", "price": price, "quantity": quantity });
        self.ok("POST", "/order", Some(body)).await
    }

    /// `asset -> (available, locked)` as decimal text.
    pub async fn balances(&self) -> std::collections::BTreeMap<String, (String, String)> {
        let rows = self.ok("GET", "/balances", None).await;
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap().to_string();
                (text("asset"), (text("available"), text("locked")))
            })
            .collect()
    }

    pub async fn balance(&self, asset: &str) -> (String, String) {
        self.balances()
            .await
            .get(asset)
            .cloned()
            .unwrap_or(("0".into(), "0".into()))
    }
}

/// A WebSocket client.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Socket {
    pub async fn connect(url: &str) -> Socket {
        let (stream, _) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("connect in time")
        .expect("websocket connects");
        Socket { stream, next_id: 1 }
    }

    /// Sends a method and returns its reply, plus the messages that came before it.
    pub async fn call(&mut self, method: &str, params: &[&str]) -> (Value, Vec<Value>) {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "method": method, "params": params, "id": id }).to_string();
        self.stream
            .send(Message::Text(message.into()))
            .await
            .unwrap();
        let mut before = Vec::new();
        loop {
            let message = self.next().await.expect("a reply in time");
            if message["id"] == json!(id) {
                return (message, before);
            }
            before.push(message);
        }
    }

    /// Sends `text` as it is (malformed messages too) and returns the first reply after it
    /// (a message with an `id` or an `error`), skipping stream data.
    pub async fn send_raw(&mut self, text: &str) -> Value {
        self.stream
            .send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
        loop {
            let message = self.next().await.expect("a reply in time");
            if message.get("id").is_some() || message.get("error").is_some() {
                return message;
            }
        }
    }

    /// The next JSON message, or None after 5 s of silence.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(Duration::from_secs(5)).await
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.stream.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(text.as_str()).unwrap())
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    /// The next message of `stream`, skipping others.
    pub async fn next_of(&mut self, stream: &str) -> Value {
        loop {
            let message = self
                .next()
                .await
                .unwrap_or_else(|| panic!("no {stream} message in time"));
            if message["stream"] == stream {
                return message["data"].clone();
            }
        }
    }
}

/// Everything a user can observe, to prove a bad request changed nothing.
pub async fn observe(traders: &[&Trader]) -> Value {
    let mut state = BTreeMap::new();
    for trader in traders {
        state.insert(
            format!("{}-balances", trader.user_id),
            json!(trader.balances().await),
        );
        state.insert(
            format!("{}-open", trader.user_id),
            trader.ok("GET", "/order/open", None).await,
        );
    }
    let depth = traders[0].ok("GET", "/depth?symbol=BTC-USD", None).await;
    state.insert(
        "depth".into(),
        json!([depth["bids"], depth["asks"], depth["sequence"]]),
    );
    json!(state)
}

/// A session token for `user_id` signed with the edge's secret that expired long ago.
pub fn expired_token(secret: &str, user_id: u64) -> String {
    let claims =
        json!({ "sub": user_id.to_string(), "iat": 1_000_000_000u64, "exp": 1_000_000_100u64 });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

//! `pinwheel up` supervises its children: both edges answer; a SIGKILLed engine is restarted,
//! recovers from the journal and the edges work again (an order placed before the kill is still
//! there); a SIGKILLed edge is restarted; SIGTERM to `up` stops every child in bounded time and
//! leaves no process behind.

mod common;

use std::time::Duration;

use common::{free_port_run, json_u64, role_pids, wait_for, wait_until, Api, TestDirs};
use serde_json::json;

/// Bound for a child to be (re)started and answer.
const RESTART_LIMIT: Duration = Duration::from_secs(60);

fn place(api: &Api, side: &str, price: &str) -> Result<u64, String> {
    let body = json!({
        "market": "BTC-USD", "side": side, "type": "limit",
        "price": price, "quantity": "0.001", "timeInForce": "GTC",
    });
    match api.post("/api/v1/order", body) {
        Ok(reply) if reply.ok() => Ok(json_u64(&reply.body["orderId"])),
        Ok(reply) => Err(format!("{reply:?}")),
        Err(error) => Err(error.to_string()),
    }
}

/// The one live process of `role` (the engine, the edge on `port`).
fn only_pid(dirs: &TestDirs, role: &str, port: Option<u16>) -> u32 {
    let pids: Vec<u32> = role_pids(dirs, role)
        .into_iter()
        .filter(|&pid| port.is_none_or(|port| common::cmdline(pid).contains(&port.to_string())))
        .collect();
    assert_eq!(pids.len(), 1, "one {role} process expected, found {pids:?}");
    pids[0]
}

/// Waits until a process of `role` other than `old` runs; returns it.
fn restarted(dirs: &TestDirs, role: &str, port: Option<u16>, old: u32) -> u32 {
    wait_for(&format!("{role} to be restarted"), RESTART_LIMIT, || {
        role_pids(dirs, role).into_iter().find(|&pid| {
            pid != old && port.is_none_or(|port| common::cmdline(pid).contains(&port.to_string()))
        })
    })
}

#[test]
fn up_restarts_a_killed_engine_and_edge_and_stops_everything_on_sigterm() {
    let dirs = TestDirs::new("up");
    dirs.write_config(&common::small_exchange_with_snapshots());
    let port = free_port_run(2);
    let mut up = dirs.spawn("up", &["up", "--edges", "2", "--port", &port.to_string()]);
    let mut alice = Api::new(port);
    alice.wait_healthy(RESTART_LIMIT);
    let on_second = Api::new(port + 1);
    on_second.wait_healthy(RESTART_LIMIT);
    alice.signup("alice");
    alice.on_ramp("USD", "1000");
    let before = place(&alice, "buy", "100.00").expect("an order on a healthy exchange");
    // The second edge serves the same user and the same book.
    let alice_second = alice.on_port(port + 1);
    let reply = alice_second
        .get(&format!("/api/v1/order/{before}"))
        .unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");

    // The engine dies: `up` restarts it, it recovers, and the edges take orders again.
    let engine = only_pid(&dirs, "engine", None);
    common::kill_pid(engine, libc::SIGKILL);
    let engine = restarted(&dirs, "engine", None, engine);
    let after = wait_for("an order after the engine restart", RESTART_LIMIT, || {
        place(&alice, "buy", "99.00").ok()
    });
    assert!(after > before);
    for api in [&alice, &alice_second] {
        let reply = api.get(&format!("/api/v1/order/{before}")).unwrap();
        assert_eq!(reply.status, 200, "order placed before the kill: {reply:?}");
        assert_eq!(json_u64(&reply.body["orderId"]), before);
    }

    // An edge dies: `up` restarts it on the same port; the same token works there.
    let edge = only_pid(&dirs, "edge", Some(port));
    common::kill_pid(edge, libc::SIGKILL);
    restarted(&dirs, "edge", Some(port), edge);
    alice.wait_healthy(RESTART_LIMIT);
    let reply = wait_for("the restarted edge to answer", RESTART_LIMIT, || {
        alice
            .get(&format!("/api/v1/order/{after}"))
            .ok()
            .filter(|reply| reply.status == 200)
    });
    assert_eq!(json_u64(&reply.body["orderId"]), after);
    assert_eq!(
        only_pid(&dirs, "engine", None),
        engine,
        "the engine kept running"
    );

    // SIGTERM to `up`: every child exits, then `up` itself, in bounded time.
    assert!(up.running());
    let status = up.terminate(Duration::from_secs(30));
    assert!(
        status.success(),
        "up exited with {status}:\n{}",
        up.stderr()
    );
    wait_until("every child of up to exit", Duration::from_secs(10), || {
        dirs.processes().is_empty()
    });
    let log = up.stderr();
    assert!(
        log.contains("engine stopped"),
        "the engine stopped cleanly:\n{log}"
    );
}

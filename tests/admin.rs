//! Operator controls against the real processes (`pinwheel up` with `public_deposits = false`):
//! `pinwheel admin grant|revoke|halt|resume|deposit` from the CLI and `/api/v1/admin/*` plus
//! `userId` deposits over the API; a halted market refuses orders with MARKET_HALTED while
//! cancels work; bad input changes nothing; and after a restart the journal's replay (full
//! and from a snapshot) agrees and the roles and halts are as they were.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{free_port_run, json_u64, json_units, offline_hash_checks, Api, TestDirs};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(60);

/// `pinwheel admin <args>` against the tree's engine: (success, stdout, stderr).
fn admin(dirs: &TestDirs, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    let Output {
        status,
        stdout,
        stderr,
    } = dirs.run(&all, Duration::from_secs(30));
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (status.success(), text(stdout), text(stderr))
}

fn admin_ok(dirs: &TestDirs, args: &[&str], says: &str) {
    let (ok, out, err) = admin(dirs, args);
    assert!(ok && out.contains(says), "admin {args:?}: {out}{err}");
}

fn admin_refused(dirs: &TestDirs, args: &[&str], code: &str) {
    let (ok, out, err) = admin(dirs, args);
    assert!(
        !ok && err.contains(code),
        "admin {args:?} should fail with {code}: {out}{err}"
    );
}

/// POSTs `body`, which must be accepted; returns the answer.
fn accepted(api: &Api, path: &str, body: Value) -> Value {
    let reply = api.post(path, body).expect("an answer");
    assert!(reply.ok(), "POST {path}: {reply:?}");
    reply.body
}

/// POSTs `body`, which must be refused with `status` and `code`.
fn refused(api: &Api, path: &str, body: Value, status: u16, code: &str) {
    let reply = api.post(path, body).expect("an answer");
    let got = (reply.status, reply.body["code"].as_str());
    assert_eq!(got, (status, Some(code)), "POST {path}: {reply:?}");
}

/// The exchange of the test and its two users.
struct Exchange {
    dirs: TestDirs,
    port: u16,
    alice: Api,
    bob: Api,
    bob_id: u64,
}

/// Available plus locked USD, in units of 10^-8.
fn usd(api: &Api) -> i64 {
    let reply = api.get("/api/v1/balances").unwrap();
    let rows = reply.body.as_array().expect("balances");
    let row = rows.iter().find(|r| r["asset"] == "USD").expect("USD");
    json_units(&row["available"], 8) + json_units(&row["locked"], 8)
}

fn order(market: &str, price: &str) -> Value {
    json!({"market": market, "side": "buy", "type": "limit", "price": price, "quantity": "0.01"})
}

fn start(dirs: &TestDirs, port: u16) -> common::Proc {
    let up = dirs.spawn("up", &["up", "--port", &port.to_string()]);
    Api::new(port).wait_healthy(LIMIT);
    up
}

fn on_ramp(asset: &str, amount: &str) -> Value {
    json!({"asset": asset, "amount": amount})
}

/// With public_deposits = false nobody deposits until the operator makes an admin; then the
/// admin deposits and withdraws for bob, and bob may not for her.
fn deposits_need_an_admin(x: &Exchange) {
    let (dirs, alice, bob) = (&x.dirs, &x.alice, &x.bob);
    refused(
        bob,
        "/api/v1/on-ramp",
        on_ramp("USD", "10"),
        403,
        "ADMIN_ONLY",
    );
    admin_ok(dirs, &["grant", "alice"], "alice (user 1) is now an admin");
    admin_refused(dirs, &["grant", "alice"], "ROLE_UNCHANGED");
    admin_refused(dirs, &["grant", "carol"], "USER_NOT_FOUND");
    admin_refused(dirs, &["halt", "DOGE-USD"], "UNKNOWN_MARKET");
    admin_refused(dirs, &["deposit", "bob", "USD", "0"], "INVALID_AMOUNT");
    admin_refused(dirs, &["deposit", "bob", "DOGE", "1"], "UNKNOWN_ASSET");
    admin_refused(dirs, &["deposit", "carol", "USD", "1"], "UNKNOWN_USER");
    alice.on_ramp("USD", "1000");
    let for_bob = |amount: &str| json!({"asset": "USD", "amount": amount, "userId": x.bob_id});
    accepted(alice, "/api/v1/on-ramp", for_bob("500"));
    accepted(alice, "/api/v1/withdraw", for_bob("100"));
    let for_alice = json!({"asset": "USD", "amount": "5", "userId": 1});
    refused(bob, "/api/v1/withdraw", for_alice, 403, "ADMIN_ONLY");
    let for_nobody = json!({"asset": "USD", "amount": "1", "userId": 999});
    refused(alice, "/api/v1/on-ramp", for_nobody, 404, "USER_NOT_FOUND");
    let says = "bob (user 2) USD: available 650.5";
    admin_ok(dirs, &["deposit", "bob", "USD", "250.5"], says);
    assert_eq!(usd(bob), 650_5000_0000);
}

/// An admin API key halts a market; bob's new order is refused, his cancel works; the CLI
/// resumes it. Returns the admin key's client.
fn halts_refuse_orders_but_not_cancels(x: &Exchange) -> Api {
    let (dirs, alice, bob) = (&x.dirs, &x.alice, &x.bob);
    let btc = || json!({"market": "BTC-USD"});
    let resting = accepted(bob, "/api/v1/order", order("BTC-USD", "100"));
    let key = accepted(alice, "/api/v1/api-keys", json!({}));
    let mut admin_key = Api::new(x.port);
    admin_key.api_key = Some(key["apiKey"].as_str().expect("apiKey").to_string());
    let halted = accepted(&admin_key, "/api/v1/admin/halt", btc());
    assert_eq!(halted, json!({"market": "BTC-USD", "halted": true}));
    refused(bob, "/api/v1/admin/resume", btc(), 403, "ADMIN_ONLY");
    refused(
        &admin_key,
        "/api/v1/admin/halt",
        btc(),
        422,
        "MARKET_HALTED",
    );
    refused(
        bob,
        "/api/v1/order",
        order("BTC-USD", "101"),
        422,
        "MARKET_HALTED",
    );
    let id = json_u64(&resting["orderId"]);
    let cancel = bob.delete(&format!("/api/v1/order/{id}")).unwrap();
    assert_eq!(
        cancel.status, 200,
        "a cancel in a halted market: {cancel:?}"
    );
    admin_ok(dirs, &["resume", "BTC-USD"], "BTC-USD is trading again");
    admin_refused(dirs, &["resume", "BTC-USD"], "MARKET_NOT_HALTED");
    accepted(bob, "/api/v1/order", order("BTC-USD", "101"));
    admin_key
}

/// Roles over the API: alice makes bob an admin and takes it back; the CLI halts ETH-USD
/// and revokes her, which reaches her API key at once.
fn roles_change_over_the_api_and_the_cli(x: &Exchange, admin_key: &Api) {
    let (dirs, alice) = (&x.dirs, &x.alice);
    let granted = accepted(alice, "/api/v1/admin/grant", json!({"username": "bob"}));
    assert_eq!(
        granted,
        json!({"userId": x.bob_id, "username": "bob", "admin": true})
    );
    let revoked = accepted(alice, "/api/v1/admin/revoke", json!({"userId": x.bob_id}));
    assert_eq!(revoked["admin"], json!(false));
    admin_ok(dirs, &["halt", "ETH-USD"], "ETH-USD is halted");
    admin_ok(
        dirs,
        &["revoke", "alice"],
        "alice (user 1) is no longer an admin",
    );
    let eth = json!({"market": "ETH-USD"});
    refused(admin_key, "/api/v1/admin/resume", eth, 403, "ADMIN_ONLY");
}

#[test]
fn operators_and_admins_grant_halt_and_move_money_and_replay_agrees() {
    let dirs = TestDirs::new("admin");
    // Deposits are for admins.
    dirs.write_config(&format!(
        "[edge]\npublic_deposits = false\n{}",
        common::small_exchange_with_snapshots()
    ));
    let port = free_port_run(1);
    let mut up = start(&dirs, port);
    let (mut alice, mut bob) = (Api::new(port), Api::new(port));
    assert_eq!(alice.signup("alice"), 1);
    let bob_id = bob.signup("bob");
    let x = Exchange {
        dirs,
        port,
        alice,
        bob,
        bob_id,
    };
    deposits_need_an_admin(&x);
    let admin_key = halts_refuse_orders_but_not_cancels(&x);
    roles_change_over_the_api_and_the_cli(&x, &admin_key);
    // Enough commands after the halt for the follower to write a snapshot holding it.
    for price in 1..=50 {
        accepted(
            &x.bob,
            "/api/v1/order",
            order("BTC-USD", &format!("{price}")),
        );
    }
    let depth = Api::new(port).get("/api/v1/depth?symbol=SOL-USD").unwrap();
    let shown = (&depth.body["bids"], &depth.body["sequence"]);
    assert_eq!(
        shown,
        (&json!([]), &json!(0)),
        "an empty book's depth: {depth:?}"
    );

    // Replay: from the journal alone, and from the newest snapshot, the same state; and the
    // restarted exchange has ETH-USD halted and alice no admin.
    assert!(up.terminate(LIMIT).success(), "up stopped cleanly");
    offline_hash_checks(&x.dirs);
    let snapshots = std::fs::read_dir(x.dirs.data_dir.join("snapshots")).unwrap();
    assert!(snapshots.count() > 0, "the follower wrote a snapshot");
    let _up = start(&x.dirs, port);
    refused(
        &x.bob,
        "/api/v1/order",
        order("ETH-USD", "10"),
        422,
        "MARKET_HALTED",
    );
    refused(
        &x.alice,
        "/api/v1/on-ramp",
        on_ramp("USD", "1"),
        403,
        "ADMIN_ONLY",
    );
    assert_eq!(
        usd(&x.bob),
        650_5000_0000,
        "bob's money survives the restart"
    );
}

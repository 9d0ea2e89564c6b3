//! The router: routes, the per-request middleware (IP rate limit, time bound, metrics).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, MethodRouter};
use axum::Router;

use crate::api::error::ApiError;
use crate::api::{
    account as api_account, admin as api_admin, ops as api_ops, public as api_public,
    trading as api_trading, wallet as api_wallet, ws,
};
use crate::state::Shared;

/// Builds the router and records every (method, path) it serves, for the OpenAPI test.
struct Routes {
    router: Router<Shared>,
    served: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: MethodRouter<Shared>,
    ) -> Self {
        self.served.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }
}

fn routes() -> Routes {
    let routes = Routes {
        router: Router::new(),
        served: Vec::new(),
    };
    routes
        .add("POST", "/api/v1/signup", post(api_account::signup))
        .add("POST", "/api/v1/signin", post(api_account::signin))
        .add(
            "POST",
            "/api/v1/api-keys",
            post(api_account::create_api_key),
        )
        .add("POST", "/api/v1/order", post(api_trading::place))
        .add(
            "DELETE",
            "/api/v1/order",
            delete(api_trading::cancel_by_body),
        )
        .add("GET", "/api/v1/order", get(api_trading::get_by_query))
        .add("GET", "/api/v1/order/{id}", get(api_trading::get))
        .add("DELETE", "/api/v1/order/{id}", delete(api_trading::cancel))
        .add("PATCH", "/api/v1/order/{id}", patch(api_trading::amend))
        .add("GET", "/api/v1/order/open", get(api_trading::open))
        .add("POST", "/api/v1/order/quote", post(api_trading::quote))
        .add("DELETE", "/api/v1/orders", delete(api_trading::cancel_all))
        .add("GET", "/api/v1/orders/history", get(api_trading::history))
        .add("GET", "/api/v1/fills", get(api_trading::fills))
        .add("GET", "/api/v1/balances", get(api_wallet::balances))
        .add("POST", "/api/v1/on-ramp", post(api_wallet::deposit))
        .add("POST", "/api/v1/withdraw", post(api_wallet::withdraw))
        .add("POST", "/api/v1/admin/grant", post(api_admin::grant))
        .add("POST", "/api/v1/admin/revoke", post(api_admin::revoke))
        .add("POST", "/api/v1/admin/halt", post(api_admin::halt))
        .add("POST", "/api/v1/admin/resume", post(api_admin::resume))
        .add("GET", "/api/v1/markets", get(api_public::markets))
        .add("GET", "/api/v1/depth", get(api_public::depth))
        .add("GET", "/api/v1/trades", get(api_public::trades))
        .add("GET", "/api/v1/tickers", get(api_public::tickers))
        .add("GET", "/api/v1/klines", get(api_public::klines))
        .add("GET", "/api/v1/openapi.json", get(api_ops::openapi))
        .add("GET", "/healthz", get(api_ops::healthz))
        .add("GET", "/metrics", get(api_ops::metrics))
        .add("GET", "/ws", get(ws::upgrade))
}

/// The (method, path) pairs the router serves.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes().served
}

/// The whole application.
pub fn app(state: Shared) -> Router {
    let limit = state.config.max_body_bytes;
    routes()
        .router
        .fallback(api_ops::static_file)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Per-request: the per-address rate limit, the time bound, and metrics by route.
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "static".into());
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(Err(wait)) = address.map(|ip| state.ip_limits.check(ip)) {
        let response = ApiError::rate_limited("address", wait).into_response();
        state
            .metrics
            .record(&method, &route, 429, started.elapsed());
        return response;
    }
    let bound = state.config.request_timeout + state.config.request_timeout / 2;
    let response = match tokio::time::timeout(bound, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable("TIMEOUT", "the request took too long").into_response(),
    };
    if route != "/ws" {
        state.metrics.record(
            &method,
            &route,
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EdgeConfig;
    use crate::test_support::{state_with, test_state, RecordingSink};
    use axum::body::Body;
    use axum::http::{Request as HttpRequest, StatusCode};
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    #[test]
    fn openapi_documents_exactly_the_routes_served() {
        let served: BTreeSet<(String, String)> = served_routes()
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        let document = crate::api::openapi::document();
        let mut documented = BTreeSet::new();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for method in operations.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        assert_eq!(served, documented);
        assert_eq!(document["openapi"], "3.0.3");
    }

    async fn call(
        state: Shared,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, serde_json::Value, Option<String>) {
        let mut request = HttpRequest::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app(state)
            .oneshot(request.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
            retry,
        )
    }

    fn recording(
        alive: bool,
        full: bool,
        config: EdgeConfig,
    ) -> (Shared, Arc<Mutex<Vec<Vec<u8>>>>) {
        let pushed = Arc::new(Mutex::new(Vec::new()));
        let sink = RecordingSink {
            pushed: pushed.clone(),
            alive,
            full,
        };
        (state_with(sink, config), pushed)
    }

    #[tokio::test]
    #[allow(clippy::too_many_lines)] // One row per bad request: the table is the test.
    async fn bad_requests_are_answered_without_touching_the_engine() {
        let (state, pushed) = recording(true, false, EdgeConfig::default());
        let token = state.tokens.issue(5);
        let order = "/api/v1/order";
        type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, u16, &'a str);
        let cases: &[Case] = &[
            ("POST", order, None, "{}", 401, "UNAUTHORIZED"),
            ("POST", order, Some("garbage"), "{}", 401, "UNAUTHORIZED"),
            (
                "POST",
                order,
                Some(&token),
                "{\"market\":",
                400,
                "INVALID_JSON",
            ),
            (
                "POST",
                order,
                Some(&token),
                r#"{"market":"BTC-USD","side":"buy","price":"1.001","quantity":"1"}"#,
                400,
                "INVALID_PRICE",
            ),
            (
                "POST",
                order,
                Some(&token),
                r#"{"market":"BTC-USD","side":"buy","price":"1","quantity":"-1"}"#,
                400,
                "INVALID_QUANTITY",
            ),
            (
                "POST",
                order,
                Some(&token),
                r#"{"market":"BTC-USD","side":"buy","price":"1","quantity":"1","userId":6}"#,
                403,
                "FORBIDDEN",
            ),
            (
                "POST",
                order,
                Some(&token),
                r#"{"market":"XYZ","side":"buy","price":"1","quantity":"1"}"#,
                400,
                "UNKNOWN_MARKET",
            ),
            (
                "POST",
                "/api/v1/on-ramp",
                Some(&token),
                r#"{"asset":"USD","amount":0}"#,
                400,
                "INVALID_AMOUNT",
            ),
            (
                "GET",
                "/api/v1/order/abc",
                Some(&token),
                "",
                400,
                "INVALID_PARAMETER",
            ),
            ("GET", "/api/v1/depth", None, "", 400, "MISSING_PARAMETER"),
            (
                "GET",
                "/api/v1/klines?symbol=BTC-USD&interval=7m",
                None,
                "",
                400,
                "INVALID_PARAMETER",
            ),
            ("GET", "/api/v1/nothing", None, "", 404, "NOT_FOUND"),
        ];
        for (method, uri, token, body, status, code) in cases {
            let (got, json, _) = call(state.clone(), method, uri, *token, body).await;
            assert_eq!(
                (got.as_u16(), json["code"].as_str().unwrap_or("")),
                (*status, *code),
                "{method} {uri} {body}: {json}"
            );
        }
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(20_000));
        let (got, json, _) = call(state.clone(), "POST", order, Some(&token), &big).await;
        assert_eq!(
            (got.as_u16(), json["code"].as_str().unwrap()),
            (413, "PAYLOAD_TOO_LARGE")
        );
        assert!(
            pushed.lock().unwrap().is_empty(),
            "no bad request reached the engine"
        );
    }

    #[tokio::test]
    async fn stopped_engine_full_ring_and_silence_answer_503_at_once_or_in_bound() {
        let body = r#"{"market":"BTC-USD","side":"buy","price":"1","quantity":"1"}"#;
        for (alive, full, code) in [
            (false, false, "ENGINE_UNAVAILABLE"),
            (true, true, "BUSY"),
            (true, false, "TIMEOUT"),
        ] {
            let (state, _) = recording(alive, full, EdgeConfig::default());
            let token = state.tokens.issue(5);
            let started = std::time::Instant::now();
            let (got, json, _) = call(state, "POST", "/api/v1/order", Some(&token), body).await;
            assert_eq!((got.as_u16(), json["code"].as_str().unwrap()), (503, code));
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
        }
    }

    #[tokio::test]
    async fn a_valid_order_becomes_one_command_for_the_authenticated_user() {
        let (state, pushed) = recording(true, false, EdgeConfig::default());
        let token = state.tokens.issue(77);
        let body =
            r#"{"market":"ETH-USD","side":"sell","price":2500.5,"quantity":"0.1","userId":77}"#;
        let _ = call(state, "POST", "/api/v1/order", Some(&token), body).await;
        let pushed = pushed.lock().unwrap();
        assert_eq!(pushed.len(), 1);
        let command = pinwheel_engine::message::Command::from_bytes(&pushed[0]);
        assert_eq!(command.head.user_id, 77);
        assert_eq!(command.head.edge_id, 3);
        let order: pinwheel_engine::message::PlaceOrder = command.body();
        assert_eq!(
            (order.market, order.price, order.quantity),
            (1, 250_050, 1000)
        );
    }

    #[tokio::test]
    async fn per_address_rate_limit_applies_before_anything_else() {
        let config = EdgeConfig {
            rate_limit_per_ip: 1,
            ..EdgeConfig::default()
        };
        let (state, _) = recording(true, false, config);
        let mut statuses = Vec::new();
        for port in [1000, 1001, 1002] {
            let address: std::net::SocketAddr = ([10, 0, 0, 1], port).into();
            let mut request = HttpRequest::get("/api/v1/markets")
                .body(Body::empty())
                .unwrap();
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(address));
            let response = app(state.clone()).oneshot(request).await.unwrap();
            statuses.push(response.status().as_u16());
        }
        assert_eq!(
            statuses,
            vec![200, 200, 429],
            "burst of 2 per address, then limited"
        );
        let mut other = HttpRequest::get("/api/v1/markets")
            .body(Body::empty())
            .unwrap();
        let address: std::net::SocketAddr = ([10, 0, 0, 2], 1000).into();
        other
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(address));
        assert_eq!(
            app(state).oneshot(other).await.unwrap().status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn per_user_rate_limit_answers_429_with_retry_after() {
        let config = EdgeConfig {
            rate_limit_per_user: 1,
            ..EdgeConfig::default()
        };
        let (state, _) = recording(false, false, config);
        let token = state.tokens.issue(9);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let (got, json, retry) =
                call(state.clone(), "GET", "/api/v1/balances", Some(&token), "").await;
            statuses.push(got.as_u16());
            if got == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(json["code"], "RATE_LIMITED");
                assert_eq!(retry.as_deref(), Some("1"));
            }
        }
        assert_eq!(statuses, vec![503, 503, 429]);
    }

    #[tokio::test]
    async fn public_endpoints_and_metrics_answer_without_the_engine() {
        let state = test_state();
        let (got, markets, _) = call(state.clone(), "GET", "/api/v1/markets", None, "").await;
        assert_eq!(got, StatusCode::OK);
        assert_eq!(markets[0]["symbol"], "BTC-USD");
        assert_eq!(markets[0]["tickSize"], "0.01");
        assert_eq!(markets[0]["minQuantity"], "0.0001");
        let (_, tickers, _) = call(state.clone(), "GET", "/api/v1/tickers", None, "").await;
        assert_eq!(tickers.as_array().unwrap().len(), 3);
        let response = app(state.clone())
            .oneshot(HttpRequest::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let text = String::from_utf8(
            axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(
            text.contains("route=\"/api/v1/markets\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("pinwheel_edge_lapped_total 0"));
    }
}

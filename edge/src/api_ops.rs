//! Health, metrics, the OpenAPI document and the web page's static files.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_embed::RustEmbed;
use serde_json::{json, Value};

use crate::metrics::write_metric;
use crate::state::Shared;

/// `GET /healthz`: 200 when the engine is alive, 503 otherwise.
pub async fn healthz(State(state): State<Shared>) -> (StatusCode, Json<Value>) {
    let alive = state.link.engine_alive();
    let status = if alive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({ "status": if alive { "ok" } else { "engine down" }, "edgeId": state.link.edge_id() }),
        ),
    )
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<Shared>) -> impl IntoResponse {
    let mut out = String::new();
    state.metrics.render(&mut out);
    let c = &state.link.counters;
    let rows = [
        (
            "pinwheel_edge_commands_total",
            "counter",
            "Commands written into the input ring.",
            &c.commands,
        ),
        (
            "pinwheel_edge_events_total",
            "counter",
            "Events read from the output ring.",
            &c.events,
        ),
        (
            "pinwheel_edge_ring_full_total",
            "counter",
            "Requests refused because the input ring was full.",
            &c.ring_full,
        ),
        (
            "pinwheel_edge_engine_down_total",
            "counter",
            "Requests refused because the engine was not alive.",
            &c.engine_down,
        ),
        (
            "pinwheel_edge_timeouts_total",
            "counter",
            "Requests the engine did not answer in time.",
            &c.timeouts,
        ),
        (
            "pinwheel_edge_lapped_total",
            "counter",
            "Times this edge's output reader was lapped.",
            &c.lapped,
        ),
        (
            "pinwheel_edge_output_lag",
            "gauge",
            "Output ring records this edge has not read yet.",
            &c.output_lag,
        ),
    ];
    for (name, kind, help, value) in rows {
        write_metric(&mut out, name, kind, help, value.load(Ordering::Relaxed));
    }
    write_metric(
        &mut out,
        "pinwheel_edge_engine_alive",
        "gauge",
        "1 when the engine's heartbeat is recent.",
        state.link.engine_alive() as u64,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

/// The web page, built into `edge/static/`.
#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

/// Static files at `/`; unknown paths outside `/api` get `index.html` (the page routes itself).
pub async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(file) = Assets::get(path) {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        return (
            [(header::CONTENT_TYPE, mime.as_ref().to_string())],
            file.data,
        )
            .into_response();
    }
    if path.starts_with("api/") {
        return crate::error::ApiError::not_found("NOT_FOUND", format!("no route {}", uri.path()))
            .into_response();
    }
    match Assets::get("index.html") {
        Some(file) => {
            ([(header::CONTENT_TYPE, "text/html".to_string())], file.data).into_response()
        }
        None => {
            crate::error::ApiError::not_found("NOT_FOUND", "no web page is built into this edge")
                .into_response()
        }
    }
}

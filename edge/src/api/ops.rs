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
    engine_counters(&state, &mut out);
    // The feed process's own figures (lag, QuestDB link), when one runs on this run dir.
    if let Some(feed) = pinwheel_candles::feed_status::read_metrics(&state.config.run_dir) {
        out.push_str(&feed);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// The engine's own counters (commands by kind, rejects by reason, events, poll gap).
fn engine_counters(state: &Shared, out: &mut String) {
    use pinwheel_engine::message::{CommandKind, RejectReason};
    use std::fmt::Write;
    let mut slot = state.engine_counters.lock().expect("counters lock");
    if slot.is_none() {
        let path = state.config.run_dir.join("counters");
        *slot = pinwheel_engine::shared_counters::SharedCounters::open(&path).ok();
    }
    let Some(shared) = slot.as_ref() else {
        return;
    };
    let counters = shared.get();
    out.push_str("# HELP pinwheel_engine_commands_total Commands the engine applied, by kind.\n# TYPE pinwheel_engine_commands_total counter\n");
    for kind in CommandKind::ALL {
        let _ = writeln!(
            out,
            "pinwheel_engine_commands_total{{kind=\"{kind:?}\"}} {}",
            counters.command_count(kind as u8)
        );
    }
    out.push_str("# HELP pinwheel_engine_rejects_total Commands the engine rejected, by reason.\n# TYPE pinwheel_engine_rejects_total counter\n");
    for reason in RejectReason::ALL {
        let _ = writeln!(
            out,
            "pinwheel_engine_rejects_total{{reason=\"{reason:?}\"}} {}",
            counters.reject_count(reason)
        );
    }
    let events = counters.events.load(Ordering::Relaxed);
    write_metric(
        out,
        "pinwheel_engine_events_total",
        "counter",
        "Events the engine emitted.",
        events,
    );
    let gap = counters.max_poll_gap_ns.load(Ordering::Relaxed);
    write_metric(
        out,
        "pinwheel_engine_max_poll_gap_ns",
        "gauge",
        "Longest gap between two polls of the input rings.",
        gap,
    );
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::api::openapi::document())
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
        return crate::api::error::ApiError::not_found(
            "NOT_FOUND",
            format!("no route {}", uri.path()),
        )
        .into_response();
    }
    match Assets::get("index.html") {
        Some(file) => {
            ([(header::CONTENT_TYPE, "text/html".to_string())], file.data).into_response()
        }
        None => crate::api::error::ApiError::not_found(
            "NOT_FOUND",
            "no web page is built into this edge",
        )
        .into_response(),
    }
}

//! Query strings as the REST handlers read them: the URI (`http::Uri`, as hyper parses it),
//! axum's `Query<HashMap<String, String>>` (the extractor every GET route uses), then the
//! parameter readers: `symbol`/`market` (`AppState::market`), `limit` (`parse_limit`),
//! `interval` (`parse_interval`). Refusals are 4xx with a stable code and a message; an
//! accepted interval prints as a name that reads back as itself.
#![no_main]

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::Uri;
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use pinwheel_edge::api::public::parse_interval;
use pinwheel_edge::api::trading::parse_limit;
use pinwheel_fuzz::edge::{assert_clear, state};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // What hyper refuses never reaches a handler.
    let Ok(uri) = format!("/api/v1/klines?{text}").parse::<Uri>() else {
        return;
    };
    let params = match Query::<HashMap<String, String>>::try_from_uri(&uri) {
        Ok(Query(params)) => params,
        Err(rejection) => {
            let status = rejection.into_response().status();
            assert!(status.is_client_error(), "query rejected with {status}");
            return;
        }
    };
    for key in ["symbol", "market"] {
        if let Some(Err(error)) = params.get(key).map(|value| state().market(key, value)) {
            assert_clear(&error);
        }
    }
    match parse_limit(&params, 100, 500) {
        Ok(limit) => assert!((1..=500).contains(&limit), "limit {limit}"),
        Err(error) => assert_clear(&error),
    }
    if let Some(name) = params.get("interval") {
        match parse_interval("interval", name) {
            Ok(interval) => {
                let again = parse_interval("interval", &interval.to_string());
                assert_eq!(again.ok(), Some(interval), "{name:?}");
            }
            Err(error) => assert_clear(&error),
        }
    }
});

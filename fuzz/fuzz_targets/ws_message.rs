//! WebSocket messages as `/ws` reads them: the JSON request, its `params`, each stream name
//! (`parse_stream`) and each AUTH credential (a session token, `Tokens::verify`, or an API
//! key, `ApiKeyText::parse`). Refusals are 4xx with a stable code and a message; an accepted
//! stream name is exactly the canonical name of the stream it parsed to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinwheel_edge::api::ws::{parse_stream, stream_name};
use pinwheel_edge::sessions::auth::ApiKeyText;
use pinwheel_fuzz::edge::{assert_clear, state};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let params = request.get("params").and_then(Value::as_array);
    for param in params.into_iter().flatten().filter_map(Value::as_str) {
        match parse_stream(state(), param) {
            Ok(stream) => assert_eq!(stream_name(state(), &stream), param, "{stream:?}"),
            Err(error) => assert_clear(&error),
        }
        if let Err(error) = state().tokens.verify(param) {
            assert_clear(&error);
        }
        if let Ok(key) = ApiKeyText::parse(param) {
            let again = ApiKeyText::parse(&key.text()).expect("a key's own text parses");
            assert_eq!(again.text(), key.text());
        }
    }
});

//! The edge's decoders need its state (the market table): one, with no engine behind it.

use std::sync::{Arc, OnceLock};

use pinwheel_edge::api::error::ApiError;
use pinwheel_edge::state::AppState;

/// The edge state every edge target decodes against (default markets, no engine).
pub fn state() -> &'static Arc<AppState> {
    static STATE: OnceLock<Arc<AppState>> = OnceLock::new();
    STATE.get_or_init(|| pinwheel_edge::test_support_public::state_without_engine(16))
}

/// Bad input is a client error with a stable code and a message: never a 5xx, never blank.
pub fn assert_clear(error: &ApiError) {
    assert!(
        error.status.is_client_error(),
        "bad input answered {}: {error:?}",
        error.status
    );
    assert!(!error.code.is_empty(), "no code: {error:?}");
    assert!(
        error
            .code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_'),
        "code is not a stable name: {error:?}"
    );
    assert!(!error.message.trim().is_empty(), "no message: {error:?}");
}

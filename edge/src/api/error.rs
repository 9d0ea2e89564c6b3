//! The one error type every handler returns; it becomes `{"code","message"}` with a status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pinwheel_engine::message::RejectReason;

/// An error answer: HTTP status, stable code, a message naming what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `INSUFFICIENT_BALANCE`.
    pub code: &'static str,
    /// Human sentence; for bad input it names the field.
    pub message: String,
    /// Seconds to wait before retrying (429 only).
    pub retry_after: Option<u64>,
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a specific code (e.g. `INVALID_PRICE`), message naming the field.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `INVALID_PARAMETER` for a field of the wrong type or value.
    pub fn field(name: &str, problem: impl std::fmt::Display) -> Self {
        Self::bad("INVALID_PARAMETER", format!("{name}: {problem}"))
    }

    /// 400 `MISSING_PARAMETER`.
    pub fn missing(name: &str) -> Self {
        Self::bad("MISSING_PARAMETER", format!("{name} is required"))
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 413: body over the configured limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(scope: &str, retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many requests for this {scope}; retry after {retry_after} s"),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 503: the engine cannot take or answer the request now.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// The answer to an engine reject: code, message and status from the engine's table.
    pub fn reject(reason: RejectReason) -> Self {
        Self::new(reject_status(reason), reason.code(), reason.message())
    }
}

/// HTTP status per engine reject reason, from the engine's reject table (`REJECTS`).
/// `NotOwner` reads exactly like `UnknownOrder` there.
pub fn reject_status(reason: RejectReason) -> StatusCode {
    StatusCode::from_u16(reason.http_status()).expect("the reject table holds valid statuses")
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_owner_is_indistinguishable_from_unknown_order() {
        let a = ApiError::reject(RejectReason::NotOwner);
        let b = ApiError::reject(RejectReason::UnknownOrder);
        assert_eq!(a, b);
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn rejects_map_to_statuses() {
        use RejectReason as R;
        assert_eq!(
            reject_status(R::InsufficientBalance),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(reject_status(R::UserExists), StatusCode::CONFLICT);
        assert_eq!(
            reject_status(R::DuplicateClientOrderId),
            StatusCode::CONFLICT
        );
        assert_eq!(
            reject_status(R::FokNotFillable),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        for reason in R::ALL {
            assert!(reject_status(reason).is_client_error() || reason == R::CapacityFull);
        }
    }

    #[tokio::test]
    async fn response_has_code_message_and_retry_after() {
        let response = ApiError::rate_limited("user", 3).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["code"], "RATE_LIMITED");
        assert!(json["message"].as_str().unwrap().contains("user"));
    }
}

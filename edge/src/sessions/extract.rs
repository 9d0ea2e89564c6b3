//! Extractors: the authenticated user (token or API key, then the per-user rate limit) and
//! the size-limited JSON body.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use pinwheel_engine::message::{ApiKey, Command, CommandKind, EventKind, RejectReason};

use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::sessions::auth::ApiKeyText;
use crate::state::{KnownKey, Shared};

/// The user a request acts for; never taken from the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct User {
    /// User id. (Whether the user is an admin is the engine's to check, from the journaled
    /// role, on the commands that need it.)
    pub id: u64,
}

impl User {
    /// 403 if a body names another user.
    pub fn check_body(&self, body: &JsonBody) -> Result<(), ApiError> {
        match body.id("userId") {
            Ok(None) => Ok(()),
            Ok(Some(id)) if id == self.id => Ok(()),
            _ => Err(ApiError::forbidden(
                "userId: requests act for the authenticated user only",
            )),
        }
    }
}

impl FromRequestParts<Shared> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let user = authenticate(parts, state).await?;
        state
            .user_limits
            .check(user.id)
            .map_err(|wait| ApiError::rate_limited("user", wait))?;
        Ok(user)
    }
}

async fn authenticate(parts: &Parts, state: &Shared) -> Result<User, ApiError> {
    if let Some(value) = parts.headers.get("x-api-key") {
        let text = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("X-API-Key is not valid text"))?;
        return user_for_key(&ApiKeyText::parse(text)?, state).await;
    }
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "sign in: send Authorization: Bearer <token> or X-API-Key",
        ));
    };
    let text = value.to_str().unwrap_or("");
    let token = text
        .strip_prefix("Bearer ")
        .ok_or_else(|| ApiError::unauthorized("Authorization must be \"Bearer <token>\""))?;
    let id = state.tokens.verify(token.trim())?;
    Ok(User { id })
}

/// The user an API key belongs to (asks the engine once, then caches); 401 if not valid.
pub async fn user_for_key(key: &ApiKeyText, state: &Shared) -> Result<User, ApiError> {
    let cached = state
        .api_keys
        .lock()
        .expect("api key cache")
        .get(&key.key_id)
        .copied();
    let known = match cached {
        Some(known) => known,
        None => {
            let known = fetch_key(key, state).await?;
            state
                .api_keys
                .lock()
                .expect("api key cache")
                .insert(key.key_id, known);
            known
        }
    };
    if known.secret_hash != key.secret_hash() {
        return Err(ApiError::unauthorized("API key is not valid"));
    }
    Ok(User { id: known.user_id })
}

async fn fetch_key(key: &ApiKeyText, state: &Shared) -> Result<KnownKey, ApiError> {
    let body = ApiKey {
        key_id: key.key_id,
        ..Default::default()
    };
    let events = state
        .link
        .request(Command::new(CommandKind::QueryApiKey as u8, &body), 0)
        .await?;
    for event in &events {
        if event.head.kind == EventKind::ApiKeyInfo as u8 {
            let info: ApiKey = event.body();
            return Ok(KnownKey {
                user_id: info.user_id,
                secret_hash: info.secret_hash,
            });
        }
        if event.head.kind == EventKind::Rejected as u8 {
            let reject: pinwheel_engine::message::Reject = event.body();
            if RejectReason::from_u16(reject.reason) != Some(RejectReason::UnknownApiKey) {
                return Err(ApiError::reject(
                    RejectReason::from_u16(reject.reason).unwrap_or(RejectReason::InvalidCommand),
                ));
            }
        }
    }
    Err(ApiError::unauthorized("API key is not valid"))
}

/// A JSON object body within the configured size limit (413 otherwise).
pub struct Body(pub JsonBody);

impl FromRequest<Shared> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, ApiError> {
        let limit = state.config.max_body_bytes;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::too_large(limit)
                } else {
                    ApiError::bad("INVALID_BODY", rejection.body_text())
                }
            })?;
        Ok(Body(JsonBody::parse(&bytes)?))
    }
}

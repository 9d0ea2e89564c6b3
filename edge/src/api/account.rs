//! Sign-up, sign-in and API keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use pinwheel_engine::message::{
    text_field, ApiKey, Command, CommandKind, CreateUser, EventKind, UserCreated, UserLookup,
};
use serde_json::{json, Value};

use crate::api::body::JsonBody;
use crate::api::error::{ApiError, ApiResult};
use crate::api::translate::{bodies, check_rejected};
use crate::sessions::auth::{hash_password, new_salt, verify_password, ApiKeyText};
use crate::sessions::extract::{Body, User};
use crate::state::{KnownKey, Shared};

const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 128;

fn credentials(body: &JsonBody) -> ApiResult<(String, [u8; 32], String)> {
    let username = body.required_string("username")?;
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_.-@".contains(c);
    if username.is_empty() || !username.chars().all(ok_char) {
        return Err(ApiError::field(
            "username",
            "use letters, digits and _ . - @ only",
        ));
    }
    let field = text_field::<32>(&username)
        .ok_or_else(|| ApiError::field("username", "must be at most 32 characters"))?;
    let password = body.required_string("password")?;
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.len()) {
        return Err(ApiError::field(
            "password",
            format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    Ok((username, field, password))
}

/// `POST /api/v1/signup {username, password}` -> 201 `{userId, token}`.
pub async fn signup(
    State(state): State<Shared>,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (_, username, password) = credentials(&body)?;
    let salt = new_salt();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, &salt))
        .await
        .map_err(|_| ApiError::unavailable("INTERNAL", "password hashing failed"))?;
    let create = CreateUser {
        username,
        salt,
        password_hash: hash,
        user_id: 0,
    };
    let events = state
        .link
        .request(Command::new(CommandKind::CreateUser as u8, &create), 0)
        .await?;
    check_rejected(&events)?;
    let created: UserCreated = bodies(&events, EventKind::UserCreated)
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::unavailable("ENGINE_ERROR", "the engine's answer carried no user")
        })?;
    let token = state.tokens.issue(created.user_id);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "userId": created.user_id, "token": token })),
    ))
}

/// `POST /api/v1/signin {username, password}` -> `{userId, token}`.
pub async fn signin(State(state): State<Shared>, Body(body): Body) -> ApiResult<Json<Value>> {
    let (_, username, password) = credentials(&body).map_err(|error| match error.code {
        "INVALID_PARAMETER" => ApiError::unauthorized("wrong username or password"),
        _ => error,
    })?;
    let lookup = UserLookup { username };
    let events = state
        .link
        .request(Command::new(CommandKind::QueryUser as u8, &lookup), 0)
        .await?;
    let wrong = || ApiError::unauthorized("wrong username or password");
    let info: CreateUser = bodies(&events, EventKind::UserInfo)
        .into_iter()
        .next()
        .ok_or_else(wrong)?;
    let matches = tokio::task::spawn_blocking(move || {
        verify_password(&password, &info.salt, &info.password_hash)
    })
    .await
    .map_err(|_| ApiError::unavailable("INTERNAL", "password check failed"))?;
    if !matches {
        return Err(wrong());
    }
    Ok(Json(
        json!({ "userId": info.user_id, "token": state.tokens.issue(info.user_id) }),
    ))
}

/// `POST /api/v1/api-keys` -> 201 `{apiKey, keyId}`; the key goes in header `X-API-Key`.
pub async fn create_api_key(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    user.check_body(&body)?;
    let key = ApiKeyText::generate();
    let record = ApiKey {
        key_id: key.key_id,
        secret_hash: key.secret_hash(),
        ..Default::default()
    };
    let events = state
        .link
        .request(
            Command::new(CommandKind::CreateApiKey as u8, &record),
            user.id,
        )
        .await?;
    check_rejected(&events)?;
    state.api_keys.lock().expect("api key cache").insert(
        key.key_id,
        KnownKey {
            user_id: user.id,
            secret_hash: record.secret_hash,
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({ "apiKey": key.text(), "keyId": hex::encode(key.key_id), "userId": user.id })),
    ))
}

//! Operator controls over the API: grant and revoke the admin role, halt and resume a market.
//!
//! The edge sends the command for the authenticated user; the engine decides, from the
//! journaled role, whether that user may (`ADMIN_ONLY` otherwise). So a revoke takes effect
//! on every edge at once, and a replay decides exactly as the live engine did.

use axum::extract::State;
use axum::Json;
use pinwheel_engine::message::{
    text_str, Command, CommandKind, EventKind, MarketScope, MarketState, UserRef, UserRole,
};
use serde_json::{json, Value};

use crate::api::body::JsonBody;
use crate::api::error::{ApiError, ApiResult};
use crate::api::translate::{bodies, check_rejected};
use crate::sessions::extract::{Body, User};
use crate::state::{AppState, Shared};

/// The user a body names: `userId`, or else `username`.
fn named_user(body: &JsonBody) -> ApiResult<UserRef> {
    if let Some(user_id) = body.id("userId")? {
        return Ok(UserRef::by_id(user_id));
    }
    let name = body
        .string("username")?
        .ok_or_else(|| ApiError::missing("userId or username"))?;
    UserRef::by_name(&name).ok_or_else(|| ApiError::field("username", "must be 1 to 32 bytes"))
}

/// Sends `body` as a `kind` command for `user`; returns the answer's `answer` event.
async fn request<B: bytemuck::Pod, A: bytemuck::Pod>(
    state: &AppState,
    user: User,
    kind: CommandKind,
    body: &B,
    answer: EventKind,
) -> ApiResult<A> {
    let events = state
        .link
        .request(Command::new(kind as u8, body), user.id)
        .await?;
    check_rejected(&events)?;
    bodies::<A>(&events, answer)
        .pop()
        .ok_or_else(|| ApiError::unavailable("ENGINE_UNAVAILABLE", "the answer lacks its event"))
}

async fn set_role(
    state: &AppState,
    user: User,
    body: &JsonBody,
    kind: CommandKind,
) -> ApiResult<Json<Value>> {
    let target = named_user(body)?;
    let role: UserRole = request(state, user, kind, &target, EventKind::UserRole).await?;
    Ok(Json(json!({
        "userId": role.user_id,
        "username": text_str(&role.username),
        "admin": role.admin != 0,
    })))
}

async fn set_halt(
    state: &AppState,
    user: User,
    body: &JsonBody,
    kind: CommandKind,
) -> ApiResult<Json<Value>> {
    let market = state.market("market", &body.required_string("market")?)?;
    let scope = MarketScope::of(market.id);
    let halted: MarketState = request(state, user, kind, &scope, EventKind::MarketState).await?;
    Ok(Json(
        json!({ "market": market.symbol, "halted": halted.halted != 0 }),
    ))
}

/// `POST /api/v1/admin/grant {userId | username}` -> `{userId, username, admin: true}`.
pub async fn grant(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    set_role(&state, user, &body, CommandKind::GrantAdmin).await
}

/// `POST /api/v1/admin/revoke {userId | username}` -> `{userId, username, admin: false}`.
pub async fn revoke(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    set_role(&state, user, &body, CommandKind::RevokeAdmin).await
}

/// `POST /api/v1/admin/halt {market}` -> `{market, halted: true}`.
pub async fn halt(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    set_halt(&state, user, &body, CommandKind::HaltMarket).await
}

/// `POST /api/v1/admin/resume {market}` -> `{market, halted: false}`.
pub async fn resume(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    set_halt(&state, user, &body, CommandKind::ResumeMarket).await
}

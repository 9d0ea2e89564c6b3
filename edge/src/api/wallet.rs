//! Balances, deposits (on-ramp) and withdrawals.

use axum::extract::State;
use axum::Json;
use pinwheel_engine::message::{
    Balance, Command, CommandKind, EventKind, Transfer, FLAG_ADMIN_ONLY,
};
use serde_json::{json, Value};

use crate::api::error::ApiResult;
use crate::api::translate::{bodies, check_rejected};
use crate::sessions::extract::{Body, User};
use crate::state::{AppState, Shared};
use crate::units::{asset_text, asset_units, Amount};

fn balances_json(state: &AppState, balances: &[Balance]) -> Value {
    let rows: Vec<Value> = balances
        .iter()
        .filter_map(|b| {
            let asset = state.table.assets.get(b.asset as usize)?;
            Some(json!({
                "asset": asset.name,
                "available": asset_text(b.available, asset),
                "locked": asset_text(b.locked, asset),
            }))
        })
        .collect();
    Value::Array(rows)
}

/// `GET /api/v1/balances` -> `[{asset, available, locked}]`.
pub async fn balances(State(state): State<Shared>, user: User) -> ApiResult<Json<Value>> {
    let events = state
        .link
        .request(
            Command::new(CommandKind::QueryBalances as u8, &[0u8; 8]),
            user.id,
        )
        .await?;
    check_rejected(&events)?;
    Ok(Json(balances_json(
        &state,
        &bodies(&events, EventKind::Balance),
    )))
}

async fn transfer(
    state: &AppState,
    user: User,
    body: &crate::api::body::JsonBody,
    kind: CommandKind,
) -> ApiResult<Json<Value>> {
    let account = match body.id("userId")? {
        Some(id) if id != user.id => id,
        _ => 0,
    };
    let asset = state.asset("asset", &body.required_string("asset")?)?;
    let amount = asset_units(
        body.required_raw("amount")?,
        "amount",
        asset,
        Amount::Transfer,
    )?;
    // Deposits when `public_deposits` is off, and any transfer for another user, are the
    // engine's to allow: it knows the journaled roles (ADMIN_ONLY otherwise).
    let admin_only = kind == CommandKind::Deposit && !state.config.public_deposits;
    let transfer = Transfer {
        asset: asset.id,
        amount,
        account,
        flags: if admin_only { FLAG_ADMIN_ONLY } else { 0 },
        ..Default::default()
    };
    let events = state
        .link
        .request(Command::new(kind as u8, &transfer), user.id)
        .await?;
    check_rejected(&events)?;
    let balance = bodies::<Balance>(&events, EventKind::Balance);
    let row = balances_json(state, &balance);
    Ok(Json(
        row.get(0)
            .cloned()
            .unwrap_or_else(|| json!({ "asset": asset.name })),
    ))
}

/// `POST /api/v1/on-ramp {asset, amount, userId?}` -> the new balance of that asset (of
/// `userId`'s account when an admin deposits for another user).
pub async fn deposit(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    transfer(&state, user, &body, CommandKind::Deposit).await
}

/// `POST /api/v1/withdraw {asset, amount, userId?}` -> the new balance of that asset.
pub async fn withdraw(
    State(state): State<Shared>,
    user: User,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    transfer(&state, user, &body, CommandKind::Withdraw).await
}

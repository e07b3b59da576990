//! An account's own settings: changing the password (`/accounts/password`) and deleting the
//! account (`/accounts/delete`). Both end the user's other sessions, in the session store and
//! on every open socket (4401, on every node through the bus); after a password change, the
//! session it was made in, and its sockets, carry on under a new id.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

use super::check::{check_password, retry_after, BUSY, BUSY_RETRY};
use super::rules::{self, Problem};
use crate::auth::hashing::HashError;
use crate::auth::{self, page_context, ClientAddress, CsrfForm, CurrentUser};
use crate::error::AppError;
use crate::realtime::Renewed;
use crate::state::AppState;
use crate::store::DeletionRefusal;
use crate::views::account_settings::{self as views, DeleteView, PasswordView};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/accounts/password",
            get(password_form).post(change_password),
        )
        .route("/accounts/delete", get(delete_form).post(delete_account))
}

const WRONG_CURRENT: &str = "The current password is wrong.";

#[derive(Deserialize)]
struct Changed {
    changed: Option<String>,
}

async fn password_form(
    session: Session,
    _user: CurrentUser,
    Query(query): Query<Changed>,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    let view = PasswordView {
        changed: query.changed.is_some(),
        ..Default::default()
    };
    Ok(views::password(&ctx, &view).into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// Sets a new password once the current one is given. Every other session of the user ends
/// and its sockets close (4401); this session stays signed in under a new id, and so do the
/// sockets opened on it (its other tabs).
async fn change_password(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let refuse = |status: StatusCode, errors: Vec<Problem>, ctx| {
        let view = PasswordView {
            errors,
            changed: false,
        };
        (status, views::password(&ctx, &view)).into_response()
    };
    let problems = rules::password_problems(&form.password, &form.password_confirm, &user.username);
    if !problems.is_empty() {
        let ctx = page_context(&session).await?;
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, problems, ctx));
    }
    let Some(account) = state.store.user_by_id(user.id).await? else {
        return signed_out(&state, &session).await;
    };
    let stored = Some(account.password_hash);
    let checked = check_password(
        &state,
        &user.username,
        stored,
        form.current_password,
        address,
        WRONG_CURRENT,
    )
    .await?;
    if let Err(refusal) = checked {
        let ctx = page_context(&session).await?;
        let view = PasswordView {
            errors: vec![refusal.problem_with("current_password")],
            changed: false,
        };
        return Ok(refusal.respond(views::password(&ctx, &view)));
    }
    let hash = match state.hashing.hash(form.password).await {
        Ok(hash) => hash,
        Err(HashError::Busy) => {
            let ctx = page_context(&session).await?;
            let page = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                vec![Problem::general(BUSY)],
                ctx,
            );
            return Ok(retry_after(BUSY_RETRY, page));
        }
        Err(HashError::Failed(error)) => return Err(error.into()),
    };
    if !state.store.set_password_hash(user.id, &hash).await? {
        return signed_out(&state, &session).await;
    }
    // This session under a new id; then every other one ends, in the store and on sockets.
    // This session's own sockets (its other tabs) stay open, under the new id.
    let old = session.id();
    auth::log_in(&session, &state.store, &user).await?;
    let keep = session.id().map(|id| id.to_string());
    state
        .store
        .end_sessions_of(user.id, keep.as_deref())
        .await?;
    let renewed = old.zip(session.id()).map(|(old, new)| Renewed { old, new });
    state.rooms.end_user_sessions(user.id, renewed);
    tracing::info!(user_id = user.id, user = user.username, "password changed");
    Ok(Redirect::to("/accounts/password?changed").into_response())
}

/// The account is gone (deleted meanwhile): this session ends too.
async fn signed_out(state: &AppState, session: &Session) -> Result<Response, AppError> {
    auth::log_out(session, &state.store).await?;
    Ok(Redirect::to("/").into_response())
}

async fn delete_form(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    let view = DeleteView {
        owned_alone: state.store.rooms_owned_alone(user.id).await?,
        errors: Vec::new(),
    };
    Ok(views::delete(&ctx, &view).into_response())
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    password: String,
    /// The "I understand" checkbox.
    confirm: Option<String>,
}

/// Deletes the account once its password is given and the deletion confirmed. Refused while
/// the user is the only owner of a room (the page lists them). Their messages and edits stay,
/// under the name `deleted user #ID`.
async fn delete_account(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, AppError> {
    let page = |status: StatusCode, errors: Vec<Problem>, owned_alone: Vec<String>, ctx| {
        let view = DeleteView {
            owned_alone,
            errors,
        };
        (status, views::delete(&ctx, &view)).into_response()
    };
    let owned_alone = state.store.rooms_owned_alone(user.id).await?;
    if form.confirm.is_none() {
        let ctx = page_context(&session).await?;
        let error = Problem::with(
            "confirm",
            "Tick the box to confirm that the account is to be deleted.",
        );
        return Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![error],
            owned_alone,
            ctx,
        ));
    }
    let Some(account) = state.store.user_by_id(user.id).await? else {
        return signed_out(&state, &session).await;
    };
    let checked = check_password(
        &state,
        &user.username,
        Some(account.password_hash),
        form.password,
        address,
        "The password is wrong.",
    )
    .await?;
    if let Err(refusal) = checked {
        let ctx = page_context(&session).await?;
        let body = page(refusal.status, vec![refusal.problem()], owned_alone, ctx);
        return Ok(refusal.respond(body));
    }
    match state.store.delete_user(user.id).await? {
        Ok(()) => {}
        Err(DeletionRefusal::SoleOwner(rooms)) => {
            let ctx = page_context(&session).await?;
            let error = Problem::general(sole_owner_message(&rooms));
            return Ok(page(StatusCode::CONFLICT, vec![error], rooms, ctx));
        }
        Err(DeletionRefusal::NoSuchUser) => return signed_out(&state, &session).await,
    }
    state.rooms.end_user_sessions(user.id, None);
    auth::log_out(&session, &state.store).await?;
    tracing::info!(user_id = user.id, user = user.username, "account deleted");
    Ok(views::deleted(&Default::default()).into_response())
}

/// Why an account that owns rooms alone is not deleted, naming them.
pub(crate) fn sole_owner_message(rooms: &[String]) -> String {
    format!(
        "You are the only owner of {}: {}. Make another member an owner in each room's \
         settings, or delete the room, then delete your account.",
        if rooms.len() == 1 {
            "this room"
        } else {
            "these rooms"
        },
        rooms.join(", ")
    )
}

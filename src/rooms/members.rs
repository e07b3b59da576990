//! A room's members, managed by its owners: `POST /rooms/{name}/members` (add someone, or give
//! a member another role) and `POST /rooms/{name}/members/{username}/remove`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::access::Role;
use super::settings::Managed;
use crate::auth::CsrfForm;
use crate::error::AppError;
use crate::realtime::AccessChange;
use crate::state::AppState;
use crate::store::{MemberRefusal, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rooms/{name}/members", post(set_role))
        .route("/rooms/{name}/members/{username}/remove", post(remove))
}

#[derive(Deserialize)]
struct MemberForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

/// Adds `username` with `role`, or gives the member that role.
async fn set_role(
    State(state): State<AppState>,
    managed: Managed,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> Result<Response, AppError> {
    let Ok(role) = form.role.parse::<Role>() else {
        let error = "Pick a role: owner, editor or viewer.".to_owned();
        return managed.invalid(&state, error).await;
    };
    let member = match known_user(&state, &managed, form.username.trim()).await? {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let room = &managed.room;
    let changed = state
        .store
        .set_member_role(room.room_id, member.id, role)
        .await?;
    if let Err(refusal) = changed {
        return refused(&state, &managed, &member, refusal).await;
    }
    tracing::info!(
        room_id = room.room_id,
        room = room.name,
        member = member.username,
        %role,
        user = managed.user.username,
        "member role set"
    );
    managed.changed(&state, AccessChange::Rules).await;
    if member.id == managed.user.id && role != Role::Owner {
        // No longer an owner: the settings would be refused; the room is still theirs to open.
        return Ok(Redirect::to(&format!("/rooms/{}", room.name)).into_response());
    }
    Ok(managed.done())
}

/// Removes `{username}` from the room.
async fn remove(
    State(state): State<AppState>,
    managed: Managed,
    Path(params): Path<HashMap<String, String>>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let username = params.get("username").map_or("", String::as_str);
    let member = match known_user(&state, &managed, username).await? {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let room = &managed.room;
    if let Err(refusal) = state.store.remove_member(room.room_id, member.id).await? {
        return refused(&state, &managed, &member, refusal).await;
    }
    tracing::info!(
        room_id = room.room_id,
        room = room.name,
        member = member.username,
        user = managed.user.username,
        "member removed"
    );
    managed.changed(&state, AccessChange::Rules).await;
    if member.id == managed.user.id {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(managed.done())
}

#[derive(Deserialize)]
struct NoFields {}

/// The account called `username`, or the settings page saying there is none.
async fn known_user(
    state: &AppState,
    managed: &Managed,
    username: &str,
) -> Result<Result<User, Response>, AppError> {
    if let Some(user) = state.store.user_by_name(username).await? {
        return Ok(Ok(user));
    }
    let error = if username.is_empty() {
        "Type the username of the person to add.".to_owned()
    } else {
        format!("There is no user called “{username}”. Check the spelling.")
    };
    let page = managed.invalid(state, error).await?;
    Ok(Err(page))
}

/// The settings page saying why a membership change was refused.
async fn refused(
    state: &AppState,
    managed: &Managed,
    member: &User,
    refusal: MemberRefusal,
) -> Result<Response, AppError> {
    let (status, error) = match refusal {
        MemberRefusal::LastOwner => (
            StatusCode::CONFLICT,
            format!(
                "{} is the room's last owner, and a room always keeps one: make someone else \
                 an owner first.",
                member.username
            ),
        ),
        MemberRefusal::NotMember => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{} is not a member of this room.", member.username),
        ),
    };
    managed.refuse(state, status, error).await
}

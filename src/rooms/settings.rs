//! A room's settings, for its owners (`/rooms/{name}/settings`, `/rooms/{name}/delete`): who
//! may find the room, what a non-member may do in it, and deleting it. The members and links
//! forms post to their own routes ([`super::members`], [`super::links`]) and come back here.
//!
//! To anyone else the settings answer as the room does: a private room they cannot see is
//! missing (404), a room they can see but not manage is forbidden (403).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

use super::access::{Role, RoomAccess, Visibility};
use super::room_not_found;
use crate::auth::{page_context, CsrfForm, CurrentUser};
use crate::clock::now_millis;
use crate::error::AppError;
use crate::realtime::AccessChange;
use crate::state::AppState;
use crate::views::settings::{self as views, Outcome};
use crate::views::{errors, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rooms/{name}/settings", get(show).post(change_rules))
        .route("/rooms/{name}/delete", post(delete_room))
}

/// A room whose owner is asking, as an extractor: everyone else is answered before the handler
/// runs (sent to log in, or the missing-room 404, or 403).
pub(super) struct Managed {
    pub ctx: PageContext,
    pub user: CurrentUser,
    pub room: RoomAccess,
}

impl FromRequestParts<AppState> for Managed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let name = params.get("name").map_or("", String::as_str);
        let ctx = page_context(&session)
            .await
            .map_err(IntoResponse::into_response)?;
        let room = state
            .store
            .room_access(name, user.id)
            .await
            .map_err(|e| AppError::from(e).into_response())?;
        match room {
            None => Err(room_not_found(&ctx, name)),
            Some(room) if !room.role.can_manage() => {
                let what = format!(
                    "Only the owners of “{}” can change its settings. You are {} there.",
                    room.name,
                    room.role.with_article()
                );
                Err((StatusCode::FORBIDDEN, errors::forbidden(&ctx, &what)).into_response())
            }
            Some(room) => Ok(Self { ctx, user, room }),
        }
    }
}

impl Managed {
    /// The settings page with what the last form did, and `status`.
    pub async fn page(
        &self,
        state: &AppState,
        outcome: &Outcome,
        status: StatusCode,
    ) -> Result<Response, AppError> {
        let members = state.store.members(self.room.room_id).await?;
        let links = state.store.room_links(self.room.room_id).await?;
        let page = views::settings(
            &self.ctx,
            &self.room,
            &members,
            &links,
            outcome,
            now_millis(),
        );
        Ok((status, page).into_response())
    }

    /// The settings page again with `error` about the form just sent.
    pub async fn refuse(
        &self,
        state: &AppState,
        status: StatusCode,
        error: String,
    ) -> Result<Response, AppError> {
        let outcome = Outcome {
            error: Some(error),
            ..Outcome::default()
        };
        self.page(state, &outcome, status).await
    }

    /// The settings page again with `error` about a form field (422).
    pub async fn invalid(&self, state: &AppState, error: String) -> Result<Response, AppError> {
        self.refuse(state, StatusCode::UNPROCESSABLE_ENTITY, error)
            .await
    }

    /// Tells the room's open sockets, once the change is committed, that who may do what in
    /// the room changed.
    pub async fn changed(&self, state: &AppState, change: AccessChange) {
        state.rooms.access_changed(self.room.room_id, change).await;
    }

    /// Back to the settings page after a change (so that reloading does not send it again).
    pub fn done(&self) -> Response {
        Redirect::to(&format!("/rooms/{}/settings", self.room.name)).into_response()
    }
}

async fn show(State(state): State<AppState>, managed: Managed) -> Result<Response, AppError> {
    managed
        .page(&state, &Outcome::default(), StatusCode::OK)
        .await
}

#[derive(Deserialize)]
struct RulesForm {
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    default_role: String,
}

/// `POST /rooms/{name}/settings`: the visibility and the default role.
async fn change_rules(
    State(state): State<AppState>,
    managed: Managed,
    CsrfForm(form): CsrfForm<RulesForm>,
) -> Result<Response, AppError> {
    let Ok(visibility) = form.visibility.parse::<Visibility>() else {
        let error = "Pick whether the room is public or private.".to_owned();
        return managed.invalid(&state, error).await;
    };
    let Some(default_role) = Role::grantable(&form.default_role) else {
        let error = "The default role must be editor or viewer.".to_owned();
        return managed.invalid(&state, error).await;
    };
    let room = &managed.room;
    state
        .store
        .set_room_rules(room.room_id, visibility, default_role)
        .await?;
    tracing::info!(
        room_id = room.room_id,
        room = room.name,
        %visibility,
        %default_role,
        user = managed.user.username,
        "room rules changed"
    );
    managed.changed(&state, AccessChange::Rules).await;
    Ok(managed.done())
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm_name: String,
}

/// `POST /rooms/{name}/delete`: deletes the room when `confirm_name` is its name.
async fn delete_room(
    State(state): State<AppState>,
    managed: Managed,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, AppError> {
    let room = &managed.room;
    if form.confirm_name.trim() != room.name {
        let error = format!(
            "The room was not deleted: to delete it, type its name, “{}”, exactly.",
            room.name
        );
        return managed.invalid(&state, error).await;
    }
    if state.store.delete_room(room.room_id).await? {
        tracing::info!(
            room_id = room.room_id,
            room = room.name,
            user = managed.user.username,
            "room deleted"
        );
        managed.changed(&state, AccessChange::Deleted).await;
    }
    Ok(Redirect::to("/").into_response())
}

//! Rooms: the start page with the directory, creating a room, the room page and its chat
//! history (`/`, `/rooms`, `/rooms/{name}`, `/rooms/{name}/messages`). A private room that the
//! user is not a member of answers every route exactly as a missing room does.

pub mod access;
mod links;
mod members;
pub mod rules;
mod settings;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::auth::{current_user, page_context, CsrfForm, CurrentUser};
use crate::clock::now_millis;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::views::home::CreateRoomView;
use crate::views::{errors, home, rooms as views, PageContext};
use access::Visibility;

/// Rooms listed on the start page; the filter narrows them in the browser.
const DIRECTORY_LIMIT: i64 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home_page))
        .route("/rooms", post(create_room))
        .route("/rooms/{name}", get(room_page))
        .route("/rooms/{name}/messages", get(message_history))
        .merge(settings::router())
        .merge(members::router())
        .merge(links::router())
}

async fn home_page(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    if ctx.user.is_none() {
        return Ok(home::landing(&ctx).into_response());
    }
    directory(&state, &ctx, &CreateRoomView::default(), StatusCode::OK).await
}

async fn directory(
    state: &AppState,
    ctx: &PageContext,
    form: &CreateRoomView<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user_id = ctx.user.as_ref().map_or(0, |user| user.id);
    let mine = state.store.member_rooms(user_id, DIRECTORY_LIMIT).await?;
    let public = state.store.public_rooms(user_id, DIRECTORY_LIMIT).await?;
    let page = home::directory(ctx, &mine, &public, form, now_millis());
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
struct CreateRoomForm {
    #[serde(default)]
    name: String,
    /// `public` (the default) or `private`.
    visibility: Option<String>,
}

async fn create_room(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<CreateRoomForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim();
    let visibility = form.visibility.as_deref().unwrap_or("public").parse();
    let (status, error) = if let Some(problem) = rules::name_problem(name) {
        (StatusCode::UNPROCESSABLE_ENTITY, problem)
    } else if let Err(access::UnknownVisibility) = visibility {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Pick whether the room is public or private.".to_owned(),
        )
    } else {
        let visibility = visibility.unwrap_or(Visibility::Public);
        match state.store.insert_room(name, user.id, visibility).await {
            Ok(id) => {
                tracing::info!(
                    room_id = id,
                    room = name,
                    %visibility,
                    user = user.username,
                    "room created"
                );
                return Ok(Redirect::to(&format!("/rooms/{name}")).into_response());
            }
            Err(e) if is_unique_violation(&e) => {
                (StatusCode::CONFLICT, taken(&state, name, &user).await?)
            }
            Err(e) => return Err(e.into()),
        }
    };
    let ctx = page_context(&session).await?;
    directory(
        &state,
        &ctx,
        &CreateRoomView {
            name,
            private: form.visibility.as_deref() == Some("private"),
            error: Some(error),
        },
        status,
    )
    .await
}

/// Why a room name is taken. The room's own spelling is named only when the user may see the
/// room: a private room of others shows no more than that the name is in use.
async fn taken(state: &AppState, name: &str, user: &CurrentUser) -> Result<String, AppError> {
    Ok(match state.store.room_access(name, user.id).await? {
        Some(room) => format!(
            "That room name is taken: “{}” already exists (names ignore letter case). \
             Join it from the list or pick another name.",
            room.name
        ),
        None => "That room name is taken (names ignore letter case). Pick another name.".to_owned(),
    })
}

/// The page for a room that is missing, or private and the user is not a member: the same
/// page, named as typed, either way.
pub(crate) fn room_not_found(ctx: &PageContext, name: &str) -> Response {
    let what = format!("There is no room called “{name}”. You can create it from the start page.");
    (StatusCode::NOT_FOUND, errors::not_found(ctx, &what)).into_response()
}

async fn room_page(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    match state.store.room_access(&name, user.id).await? {
        Some(room) => Ok(views::room(&ctx, &room).into_response()),
        None => Ok(room_not_found(&ctx, &name)),
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct HistoryPage {
    /// Oldest first.
    messages: Vec<chatspace_crdt::codec::ChatMessage>,
    /// Whether older messages exist before the first one.
    more: bool,
}

const HISTORY_DEFAULT: i64 = 50;
/// The most a page may hold: the same as a `history` reply on the socket.
const HISTORY_MAX: i64 = chatspace_crdt::codec::HISTORY_PAGE as i64;

/// `GET /rooms/{name}/messages?before=ID&limit=N`: a page of history, for scrolling back.
async fn message_history(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, AppError> {
    let Some(user) = current_user(&session).await? else {
        return Err(AppError::Unauthorized);
    };
    let Some(room) = state.store.room_access(&name, user.id).await? else {
        let missing = serde_json::json!({ "error": "no such room" });
        return Ok((StatusCode::NOT_FOUND, Json(missing)).into_response());
    };
    let limit = query.limit.unwrap_or(HISTORY_DEFAULT).clamp(1, HISTORY_MAX);
    // One extra row says whether there is more.
    let mut rows = state
        .store
        .messages_before(room.room_id, query.before, limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    if more {
        rows.remove(0);
    }
    Ok(Json(HistoryPage {
        messages: rows
            .iter()
            .map(chatspace_crdt::codec::ChatMessage::from)
            .collect(),
        more,
    })
    .into_response())
}

//! Rooms: the start page with the directory, creating a room, the room page and its chat
//! history (`/`, `/rooms`, `/rooms/{name}`, `/rooms/{name}/messages`).

pub mod access;
pub mod rules;

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
    let rooms = state.store.list_rooms(DIRECTORY_LIMIT).await?;
    Ok((status, home::directory(ctx, &rooms, form, now_millis())).into_response())
}

#[derive(Deserialize)]
struct CreateRoomForm {
    #[serde(default)]
    name: String,
}

async fn create_room(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<CreateRoomForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim();
    let (status, error) = if let Some(problem) = rules::name_problem(name) {
        (StatusCode::UNPROCESSABLE_ENTITY, problem)
    } else {
        match state
            .store
            .insert_room(name, user.id, Visibility::Public)
            .await
        {
            Ok(id) => {
                tracing::info!(
                    room_id = id,
                    room = name,
                    user = user.username,
                    "room created"
                );
                return Ok(Redirect::to(&format!("/rooms/{name}")).into_response());
            }
            Err(e) if is_unique_violation(&e) => {
                let existing = state.store.room_by_name(name).await?;
                let taken = existing.map_or_else(|| name.to_owned(), |room| room.name);
                (
                    StatusCode::CONFLICT,
                    format!(
                        "That room name is taken: “{taken}” already exists (names ignore letter case). \
                         Join it from the list or pick another name."
                    ),
                )
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
            error: Some(error),
        },
        status,
    )
    .await
}

async fn room_page(
    State(state): State<AppState>,
    session: Session,
    _user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    match state.store.room_by_name(&name).await? {
        Some(room) => Ok(views::room(&ctx, &room).into_response()),
        None => {
            let what =
                format!("There is no room called “{name}”. You can create it from the start page.");
            Ok((StatusCode::NOT_FOUND, errors::not_found(&ctx, &what)).into_response())
        }
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
) -> Result<Json<HistoryPage>, AppError> {
    if current_user(&session).await?.is_none() {
        return Err(AppError::Unauthorized);
    }
    let room = state
        .store
        .room_by_name(&name)
        .await?
        .ok_or(AppError::NotFound)?;
    let limit = query.limit.unwrap_or(HISTORY_DEFAULT).clamp(1, HISTORY_MAX);
    // One extra row says whether there is more.
    let mut rows = state
        .store
        .messages_before(room.id, query.before, limit + 1)
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
    }))
}

//! The history routes: versions as JSON (list, one with its differences from the current text),
//! saving a named version, the time slider's steps (`timeline`), and exports of the document and the chat. Each answers a room the
//! user may not open as it answers a missing one.

use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::document::flushed_document;
use crate::auth::{current_user, CsrfForm, CurrentUser};
use crate::error::AppError;
use crate::rooms::access::RoomAccess;
use crate::state::AppState;
use crate::store::{NewVersion, VersionKind, VersionSummary};
use chatspace_crdt::codec::ChatMessage;
use chatspace_crdt::history::{changes, Change};

/// Versions listed at most (newest first).
const LIST_LIMIT: i64 = 500;
/// Longest version name, in characters.
const NAME_MAX: usize = 100;
/// Largest upload body the import routes take; the file itself is held to
/// `--import-max-bytes` as it is read.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Chat messages read per query while exporting.
const EXPORT_PAGE: i64 = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/rooms/{name}/versions",
            get(list_versions).post(save_version),
        )
        .route("/rooms/{name}/versions/{id}", get(show_version))
        .route("/rooms/{name}/timeline", get(super::timeline::timeline))
        .route(
            "/rooms/{name}/versions/{id}/restore",
            post(super::restore::restore),
        )
        .route(
            "/rooms/{name}/import",
            post(super::restore::import_text).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/rooms/{name}/authors", get(authors))
        .route("/rooms/{name}/export", get(export_document))
        .route(
            "/rooms/import",
            post(super::import::import_room).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/rooms/{name}/messages/export", get(export_chat))
}

/// The room as the session's user may see it: 401 without a session, the missing-room 404 when
/// the room does not exist for them.
pub(super) async fn room_for(
    state: &AppState,
    session: &Session,
    name: &str,
) -> Result<(CurrentUser, RoomAccess), AppError> {
    let user = current_user(session).await?.ok_or(AppError::Unauthorized)?;
    let room = state
        .store
        .room_access(name, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((user, room))
}

#[derive(Serialize)]
struct VersionJson {
    id: i64,
    /// `auto`, `named`, `before_restore` or `before_import`.
    kind: String,
    name: Option<String>,
    /// Unix milliseconds.
    time: i64,
    /// Who saved it by hand.
    saved_by: Option<String>,
    /// Who wrote to the room since the version before it.
    authors: Vec<String>,
    /// Characters of text.
    size: i64,
}

impl From<VersionSummary> for VersionJson {
    fn from(v: VersionSummary) -> Self {
        VersionJson {
            id: v.id,
            kind: v.kind,
            name: v.name,
            time: v.created_at,
            saved_by: v.created_by,
            authors: v.authors,
            size: v.size,
        }
    }
}

#[derive(Serialize)]
struct Authors {
    /// Yjs client id (as a decimal string, JSON's keys) to the username that owns it.
    clients: std::collections::BTreeMap<String, String>,
}

/// `GET /rooms/{name}/authors`: who owns each Yjs client id written under in the room, for the
/// author colours.
async fn authors(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> Result<Json<Authors>, AppError> {
    let (_, room) = room_for(&state, &session, &name).await?;
    let owners = state.store.client_authors(room.room_id).await?;
    Ok(Json(Authors {
        clients: owners
            .into_iter()
            .map(|(client, user)| (client.to_string(), user))
            .collect(),
    }))
}

/// `GET /rooms/{name}/versions`: the room's versions, newest first.
async fn list_versions(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> Result<Json<Vec<VersionJson>>, AppError> {
    let (_, room) = room_for(&state, &session, &name).await?;
    let versions = state.store.list_versions(room.room_id, LIST_LIMIT).await?;
    Ok(Json(versions.into_iter().map(VersionJson::from).collect()))
}

#[derive(Deserialize)]
struct SaveForm {
    #[serde(default)]
    name: String,
}

/// `POST /rooms/{name}/versions` (editors): saves the stored text now as a named version, then
/// 303 to the room.
async fn save_version(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<SaveForm>,
) -> Result<Response, AppError> {
    let (user, room) = room_for(&state, &session, &name).await?;
    if !room.role.can_edit() {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "Viewers cannot save versions.",
        ));
    }
    let label = form.name.trim();
    if label.chars().count() > NAME_MAX {
        return Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("A version name has at most {NAME_MAX} characters."),
        ));
    }
    let doc = flushed_document(&state, room.room_id).await?;
    let id = state
        .store
        .insert_version(&NewVersion {
            room_id: room.room_id,
            kind: VersionKind::Named,
            name: (!label.is_empty()).then_some(label),
            created_by: Some(user.id),
            upto_seq: doc.upto_seq,
            text: &doc.text,
            state: &doc.state,
        })
        .await?;
    tracing::info!(
        room = room.name,
        version = id,
        user = user.username,
        "version saved by hand"
    );
    Ok(Redirect::to(&format!("/rooms/{}", room.name)).into_response())
}

/// A JSON error for the history routes, which the room page's script reads.
pub(super) fn refused(status: StatusCode, reason: &str) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}

#[derive(Serialize)]
struct ChangeJson {
    /// `same`, `inserted` (only in the current text) or `deleted` (only in the version).
    kind: &'static str,
    text: String,
}

impl From<Change> for ChangeJson {
    fn from(change: Change) -> Self {
        let (kind, text) = match change {
            Change::Same(text) => ("same", text),
            Change::Inserted(text) => ("inserted", text),
            Change::Deleted(text) => ("deleted", text),
        };
        ChangeJson { kind, text }
    }
}

#[derive(Serialize)]
struct VersionDetail {
    #[serde(flatten)]
    version: VersionJson,
    text: String,
    /// From this version's text to the current one.
    changes: Vec<ChangeJson>,
}

/// `GET /rooms/{name}/versions/{id}`: a version's text and what changed since.
async fn show_version(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Json<VersionDetail>, AppError> {
    let (_, room) = room_for(&state, &session, &name).await?;
    let version = state
        .store
        .version(room.room_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = flushed_document(&state, room.room_id).await?;
    let old = version.text;
    let changes = tokio::task::spawn_blocking({
        let old = old.clone();
        move || changes(&old, &current.text)
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(Json(VersionDetail {
        version: version.summary.into(),
        text: old,
        changes: changes.into_iter().map(ChangeJson::from).collect(),
    }))
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
    version: Option<i64>,
}

/// `GET /rooms/{name}/export?format=txt|md|yjs[&version=ID]`: the text (or, as `yjs`, the
/// whole CRDT state as one Yjs update that any Yjs document can apply), now or at a version.
async fn export_document(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let (_, room) = room_for(&state, &session, &name).await?;
    let format = query.format.as_deref().unwrap_or("txt");
    let content_type = match format {
        "txt" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "yjs" => "application/octet-stream",
        _ => {
            return Ok(refused(
                StatusCode::BAD_REQUEST,
                "The format is txt, md or yjs.",
            ))
        }
    };
    let (text, state_bytes, file) = match query.version {
        Some(id) => {
            let v = state
                .store
                .version(room.room_id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            (
                v.text,
                v.state,
                format!("{}-version-{id}.{format}", room.name),
            )
        }
        None => {
            let doc = flushed_document(&state, room.room_id).await?;
            (doc.text, doc.state, format!("{}.{format}", room.name))
        }
    };
    let body = if format == "yjs" {
        state_bytes
    } else {
        text.into_bytes()
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /rooms/{name}/messages/export`: every chat message of the room, oldest first, as JSON.
async fn export_chat(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let (_, room) = room_for(&state, &session, &name).await?;
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = state
            .store
            .messages_before(room.room_id, before, EXPORT_PAGE)
            .await?;
        let Some(first) = page.first() else { break };
        before = Some(first.id);
        let full = page.len() as i64 == EXPORT_PAGE;
        pages.push(page);
        if !full {
            break;
        }
    }
    let messages: Vec<ChatMessage> = pages
        .iter()
        .rev()
        .flatten()
        .map(ChatMessage::from)
        .collect();
    let file = format!("{}-chat.json", room.name);
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        )],
        Json(messages),
    )
        .into_response())
}

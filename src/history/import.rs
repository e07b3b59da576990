//! Imports: a Yjs file (`.yjs`, a whole document as one update, as the `yjs` export gives it)
//! becomes a new room. It cannot be merged into an existing room: its items would interleave
//! with an unrelated document's.
//!
//! Files arrive as `multipart/form-data`; the file is read up to `--import-max-bytes` and not a
//! byte further.

use std::collections::HashMap;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chatspace_crdt::{IncomingUpdate, RoomDoc};
use tower_sessions::Session;

use crate::auth::csrf::check_token;
use crate::auth::{page_context, CurrentUser};
use crate::error::AppError;
use crate::rooms::access::Visibility;
use crate::rooms::rules::name_problem;
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::views::errors;

/// Largest text field of an upload form (names, the token).
const FIELD_MAX: usize = 4 * 1024;

/// An upload form as sent: its text fields and its file.
pub(super) struct Upload {
    pub fields: HashMap<String, String>,
    /// The `file` field: its name as the browser gave it, and its bytes.
    pub file: Option<(String, Vec<u8>)>,
}

/// Why an upload was turned away, as the page tells it.
pub(super) struct Refusal {
    pub status: StatusCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

/// Reads every field of `multipart`; a file over `max_file` bytes is refused as soon as it
/// passes the limit.
pub(super) async fn read_upload(
    mut multipart: Multipart,
    max_file: usize,
) -> Result<Upload, Refusal> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("The upload could not be read: {e}"),
        )
    };
    let mut upload = Upload {
        fields: HashMap::new(),
        file: None,
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                if bytes.len() + chunk.len() > max_file {
                    return Err(Refusal::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("The file is larger than the import limit of {max_file} bytes."),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            upload.file = Some((file_name, bytes));
        } else {
            let text = field.text().await.map_err(unreadable)?;
            if text.len() > FIELD_MAX {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("The field {name} is too long."),
                ));
            }
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}

/// An upload form read (the file up to `--import-max-bytes`) whose CSRF token matches; or the
/// page that says why it was refused.
pub(super) async fn checked_upload(
    state: &AppState,
    session: &Session,
    multipart: Multipart,
) -> Result<Result<Upload, Response>, AppError> {
    let upload = match read_upload(multipart, state.config.import_max_bytes).await {
        Ok(upload) => upload,
        Err(refusal) => return refusal_page(session, refusal).await.map(Err),
    };
    check_token(session, upload.fields.get("csrf_token").map(String::as_str)).await?;
    Ok(Ok(upload))
}

/// The page that says why an import was refused.
pub(super) async fn refusal_page(
    session: &Session,
    refusal: Refusal,
) -> Result<Response, AppError> {
    let ctx = page_context(session).await?;
    Ok((
        refusal.status,
        errors::import_refused(&ctx, &refusal.reason),
    )
        .into_response())
}

/// `POST /rooms/import` (fields `csrf_token`, `name`, `visibility`, `file`): a new room holding
/// the document of a `.yjs` file, then 303 to it.
pub(super) async fn import_room(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = match checked_upload(&state, &session, multipart).await? {
        Ok(upload) => upload,
        Err(page) => return Ok(page),
    };
    match new_room(&state, &user, upload).await? {
        Ok(name) => Ok(Redirect::to(&format!("/rooms/{name}")).into_response()),
        Err(refusal) => refusal_page(&session, refusal).await,
    }
}

/// Creates the room of an accepted upload; its name, or why not.
async fn new_room(
    state: &AppState,
    user: &CurrentUser,
    upload: Upload,
) -> Result<Result<String, Refusal>, AppError> {
    let unprocessable =
        |reason: String| Ok(Err(Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, reason)));
    let name = upload
        .fields
        .get("name")
        .map_or("", |n| n.trim())
        .to_owned();
    if let Some(problem) = name_problem(&name) {
        return unprocessable(problem);
    }
    let visibility = match upload.fields.get("visibility").map(String::as_str) {
        None | Some("") => Visibility::Public,
        Some(v) => match v.parse() {
            Ok(v) => v,
            Err(_) => return unprocessable("The visibility is public or private.".to_owned()),
        },
    };
    let Some((file_name, bytes)) = upload.file else {
        return unprocessable("Choose a file to import.".to_owned());
    };
    if !file_name.to_ascii_lowercase().ends_with(".yjs") {
        return unprocessable(
            "A new room is made from a .yjs file (a Yjs document, as the yjs export gives it)."
                .to_owned(),
        );
    }
    let checked = tokio::task::spawn_blocking(move || document_of(bytes))
        .await
        .map_err(anyhow::Error::from)?;
    let document = match checked {
        Ok(document) => document,
        Err(reason) => return unprocessable(reason),
    };
    let room_id = match state.store.insert_room(&name, user.id, visibility).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Ok(Err(Refusal::new(
                StatusCode::CONFLICT,
                format!("That room name is taken: pick another name for “{name}”."),
            )))
        }
        Err(e) => return Err(e.into()),
    };
    state.store.save_snapshot(room_id, 1, &document, 0).await?;
    tracing::info!(
        room_id,
        room = name,
        user = user.username,
        "room imported from a Yjs file"
    );
    Ok(Ok(name))
}

/// The document of a `.yjs` file, checked as a client's update is and re-encoded by the
/// server; or why it is refused.
fn document_of(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let update = IncomingUpdate::check_v1(bytes)
        .map_err(|e| format!("The file is not a Yjs document ChatSpace can hold: {e}."))?;
    let mut doc = RoomDoc::new();
    doc.apply_update(update)
        .map_err(|e| format!("The file's document does not apply: {e}."))?;
    if doc.has_missing_updates() {
        return Err("The file's document builds on edits it does not hold.".to_owned());
    }
    doc.encode_state_as_update_v1()
        .map_err(|e| format!("The file's document cannot be stored: {e}."))
}

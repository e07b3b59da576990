//! Replacing a room's text by ordinary edits: restoring a version, importing a `.txt` or `.md`
//! file. The current text is saved as a version first ("before restore", "before import"), so
//! either can be undone by restoring that version. The edits are one update, made under a fresh
//! client id of the user who asked, and enter the room as that user's client would send them:
//! everyone connected sees them live, and edits others make meanwhile merge with them.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chatspace_crdt::history::{edits_to, HistoryError};
use chatspace_crdt::ClientID;
use rand::Rng;
use tower_sessions::Session;

use super::document::flushed_document;
use super::import::{checked_upload, refusal_page, Refusal};
use super::routes::{refused, room_for};
use crate::auth::{CsrfForm, CurrentUser};
use crate::error::AppError;
use crate::rooms::access::RoomAccess;
use crate::state::AppState;
use crate::store::{NewVersion, VersionKind};

/// Client ids tried before giving up (a random 32-bit id is almost never taken).
const CLIENT_ID_TRIES: usize = 8;

#[derive(serde::Deserialize)]
pub(super) struct NoFields {}

/// `POST /rooms/{name}/versions/{id}/restore` (editors): the room's text becomes the version's.
pub(super) async fn restore(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let (user, room) = room_for(&state, &session, &name).await?;
    if !room.role.can_edit() {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "Viewers cannot restore versions.",
        ));
    }
    let version = state
        .store
        .version(room.room_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let label = format!("Before restoring version {id}");
    replace_text(
        &state,
        &user,
        &room,
        &version.text,
        VersionKind::BeforeRestore,
        &label,
    )
    .await?;
    tracing::info!(
        room = room.name,
        version = id,
        user = user.username,
        "version restored"
    );
    Ok(Redirect::to(&format!("/rooms/{}", room.name)).into_response())
}

/// `POST /rooms/{name}/import` (editors; fields `csrf_token`, `file`): the room's text becomes
/// the file's, a `.txt` or `.md` in UTF-8 (CRLF line ends become LF).
pub(super) async fn import_text(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = match checked_upload(&state, &session, multipart).await? {
        Ok(upload) => upload,
        Err(page) => return Ok(page),
    };
    let (user, room) = room_for(&state, &session, &name).await?;
    if !room.role.can_edit() {
        let refusal = Refusal::new(StatusCode::FORBIDDEN, "Viewers cannot import into a room.");
        return refusal_page(&session, refusal).await;
    }
    let text = match text_of_upload(upload.file) {
        Ok(text) => text,
        Err(reason) => {
            let refusal = Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, reason);
            return refusal_page(&session, refusal).await;
        }
    };
    replace_text(
        &state,
        &user,
        &room,
        &text,
        VersionKind::BeforeImport,
        "Before import",
    )
    .await?;
    tracing::info!(
        room = room.name,
        bytes = text.len(),
        user = user.username,
        "file imported"
    );
    Ok(Redirect::to(&format!("/rooms/{}", room.name)).into_response())
}

/// The text of an uploaded `.txt` or `.md` file, or why it is refused.
fn text_of_upload(file: Option<(String, Vec<u8>)>) -> Result<String, String> {
    let Some((file_name, bytes)) = file else {
        return Err("Choose a file to import.".to_owned());
    };
    let lower = file_name.to_ascii_lowercase();
    if !(lower.ends_with(".txt") || lower.ends_with(".md")) {
        return Err(
            "A room imports .txt and .md files (a .yjs file makes a new room instead).".to_owned(),
        );
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "The file is not UTF-8 text (the first bad byte is at position {}).",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(text.replace("\r\n", "\n"))
}

/// Saves the room's current text (everything its clients have seen, stored first) as a version
/// of `kind`, then applies the edits that turn it into `target`.
async fn replace_text(
    state: &AppState,
    user: &CurrentUser,
    room: &RoomAccess,
    target: &str,
    kind: VersionKind,
    label: &str,
) -> Result<(), AppError> {
    let mut stand_in = state
        .rooms
        .stand_in(room.room_id, &room.name, user.clone())
        .await
        .map_err(anyhow::Error::from)?;
    let current = flushed_document(state, room.room_id).await?;
    state
        .store
        .insert_version(&NewVersion {
            room_id: room.room_id,
            kind,
            name: Some(label),
            created_by: Some(user.id),
            upto_seq: current.upto_seq,
            text: &current.text,
            state: &current.state,
        })
        .await?;
    let target = target.to_owned();
    let update = tokio::task::spawn_blocking(move || edits(&current.state, &target))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    match update {
        Some(update) => stand_in.submit(update).await,
        // The text is that already.
        None => stand_in.leave().await,
    }
    .map_err(anyhow::Error::from)?;
    Ok(())
}

/// [`edits_to`] under a random 32-bit client id (as Yjs picks them) the document does not hold.
fn edits(state: &[u8], target: &str) -> Result<Option<Vec<u8>>, HistoryError> {
    let mut rng = rand::thread_rng();
    for _ in 0..CLIENT_ID_TRIES {
        let client = ClientID::new(u64::from(rng.gen::<u32>()));
        match edits_to(state, target, client) {
            Err(HistoryError::ClientTaken) => continue,
            other => return other,
        }
    }
    Err(HistoryError::ClientTaken)
}

//! The time slider: a room's text step by step from one version to a later one (or to the
//! current text), replayed from the update log.
//!
//! Each stored update is a step, with its author and time, as long as the log still holds the
//! updates between the two versions. Compaction folds the log into a snapshot and drops the
//! entries it covers (every `--compact-after-updates`); where it has, the slider steps from
//! version to version instead (`complete` is false). Versions themselves survive compaction.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatspace_crdt::history::{edit_ops, EditOp};
use chatspace_crdt::{IncomingUpdate, RoomDoc, SnapshotFormat};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::document::current_document;
use super::routes::{refused, room_for};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::AuthoredEntry;

/// Most steps one answer holds: longer stretches are replayed in even groups of updates.
const MAX_STEPS: usize = 1_000;

/// What the time slider shows between two points of a room's history.
#[derive(Debug, Serialize)]
pub struct Timeline {
    /// The text at the start.
    pub text: String,
    /// Whether every stored update between the two points was still in the log.
    pub complete: bool,
    pub steps: Vec<Step>,
}

/// One step: the edits of one stored update (or of a group of them).
#[derive(Debug, Serialize)]
pub struct Step {
    /// The log position after the step.
    pub seq: i64,
    /// When its last update was stored (unix milliseconds), when known.
    pub time: Option<i64>,
    /// Who sent its updates.
    pub authors: Vec<String>,
    /// From the text before the step to the text after it (UTF-16 units).
    pub ops: Vec<EditOp>,
}

/// Where the slider starts and ends.
pub struct Span<'a> {
    /// The starting version's whole document (Yjs v1) and text.
    pub state: &'a [u8],
    pub text: String,
    /// The log position the start covers, and the end's.
    pub from_seq: i64,
    pub to_seq: i64,
    /// The text at the end, with its time and authors when it is a version.
    pub end_text: &'a str,
    pub end_time: Option<i64>,
    pub end_authors: &'a [String],
}

/// Replays `entries` (the log between the span's two positions) onto the start. Runs for as
/// long as the replay takes: call it on the blocking pool.
pub fn replay(span: Span<'_>, entries: &[AuthoredEntry]) -> Timeline {
    let expected = usize::try_from(span.to_seq - span.from_seq).unwrap_or(0);
    let contiguous = entries
        .iter()
        .zip(span.from_seq + 1..)
        .all(|(entry, seq)| entry.seq == seq);
    let complete = entries.len() == expected && contiguous;
    let mut steps = Vec::new();
    let mut text = span.text.clone();
    if complete && !entries.is_empty() {
        if let Ok(mut doc) = RoomDoc::load(Some((span.state, SnapshotFormat::V1)), [[0u8; 0]; 0]) {
            let per_step = entries.len().div_ceil(MAX_STEPS);
            for group in entries.chunks(per_step) {
                for entry in group {
                    if let Ok(update) = IncomingUpdate::check_v1(entry.data.clone()) {
                        // An update the room refused or could not apply then is not history.
                        let _ = doc.apply_update(update);
                    }
                }
                let next = doc.text();
                let ops = edit_ops(&text, &next);
                text = next;
                if let Some(last) = group.last() {
                    steps.push(Step {
                        seq: last.seq,
                        time: last.stored_at,
                        authors: authors_of(group),
                        ops,
                    });
                }
            }
        }
    }
    // Whatever the log could not replay, the end's own text closes the gap.
    if text != span.end_text {
        steps.push(Step {
            seq: span.to_seq,
            time: span.end_time,
            authors: span.end_authors.to_vec(),
            ops: edit_ops(&text, span.end_text),
        });
    }
    Timeline {
        text: span.text,
        complete,
        steps,
    }
}

fn authors_of(entries: &[AuthoredEntry]) -> Vec<String> {
    let mut authors: Vec<String> = Vec::new();
    for name in entries.iter().filter_map(|e| e.author.as_ref()) {
        if !authors.contains(name) {
            authors.push(name.clone());
        }
    }
    authors
}

#[derive(Deserialize)]
pub(super) struct TimelineQuery {
    /// The version the slider starts at.
    from: i64,
    /// The version it ends at; none = the current text.
    to: Option<i64>,
}

/// `GET /rooms/{name}/timeline?from=ID[&to=ID]`: the steps from one version to a later one.
pub(super) async fn timeline(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, AppError> {
    let (_, room) = room_for(&state, &session, &name).await?;
    let store = &state.store;
    let from = store
        .version(room.room_id, query.from)
        .await?
        .ok_or(AppError::NotFound)?;
    let (end_text, to_seq, end_time, end_authors) = match query.to {
        Some(id) => {
            let to = store
                .version(room.room_id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let time = Some(to.summary.created_at);
            (to.text, to.upto_seq, time, to.summary.authors)
        }
        None => {
            let doc = current_document(store, room.room_id).await?;
            (doc.text, doc.upto_seq, None, Vec::new())
        }
    };
    if to_seq < from.upto_seq {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "The slider's end is older than its start.",
        ));
    }
    let entries = store
        .log_between(room.room_id, from.upto_seq, to_seq)
        .await?;
    let timeline = tokio::task::spawn_blocking(move || {
        let span = Span {
            state: &from.state,
            text: from.text,
            from_seq: from.upto_seq,
            to_seq,
            end_text: &end_text,
            end_time,
            end_authors: &end_authors,
        };
        replay(span, &entries)
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(Json(timeline).into_response())
}

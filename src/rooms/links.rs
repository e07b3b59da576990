//! Share links: an owner creates one with a role, an optional expiry and an optional number of
//! uses (`POST /rooms/{name}/links`) and revokes it (`POST /rooms/{name}/links/{id}/revoke`);
//! whoever opens it signed in becomes a member with that role (`GET /join/{token}`).
//!
//! The token is shown once, on the page that answers its creation; only its SHA-256 hash is
//! stored.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use super::access::Role;
use super::settings::Managed;
use crate::auth::{current_user, page_context, random_token, CsrfForm};
use crate::clock::now_millis;
use crate::error::AppError;
use crate::realtime::AccessChange;
use crate::state::AppState;
use crate::store::{LinkRefusal, NewLink};
use crate::views::errors;
use crate::views::settings::Outcome;

/// Characters of a token: about 190 random bits.
const TOKEN_CHARS: usize = 32;
/// The longest expiry a link may be given: ten years.
const MAX_EXPIRY_HOURS: i64 = 24 * 365 * 10;
/// The most uses a link may be given.
const MAX_USES: i64 = 1_000_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rooms/{name}/links", post(create))
        .route("/rooms/{name}/links/{id}/revoke", post(revoke))
        .route("/join/{token}", get(join))
}

/// The stored form of a token.
fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    expires_in_hours: String,
    #[serde(default)]
    max_uses: String,
}

/// An optional whole number from 1 to `max` typed in a form: `Ok(None)` when left empty.
fn optional_count(typed: &str, max: i64) -> Result<Option<i64>, ()> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    match typed.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(()),
    }
}

async fn create(
    State(state): State<AppState>,
    managed: Managed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LinkForm>,
) -> Result<Response, AppError> {
    let unprocessable = |error: String| managed.invalid(&state, error);
    let Some(role) = Role::grantable(&form.role) else {
        return unprocessable("A share link gives the editor or the viewer role.".into()).await;
    };
    let Ok(expires_in_hours) = optional_count(&form.expires_in_hours, MAX_EXPIRY_HOURS) else {
        let error = format!(
            "The expiry must be a whole number of hours from 1 to {MAX_EXPIRY_HOURS}, or empty \
             for a link that does not expire."
        );
        return unprocessable(error).await;
    };
    let Ok(max_uses) = optional_count(&form.max_uses, MAX_USES) else {
        let error = format!(
            "The number of uses must be a whole number from 1 to {MAX_USES}, or empty for no \
             limit."
        );
        return unprocessable(error).await;
    };
    let room = &managed.room;
    let token = random_token(TOKEN_CHARS);
    let now = now_millis();
    let link = NewLink {
        room_id: room.room_id,
        token_hash: &token_hash(&token),
        role,
        created_by: managed.user.id,
        created_at: now,
        expires_at: expires_in_hours.map(|hours| now + hours * 3_600_000),
        max_uses,
    };
    let id = state.store.insert_link(&link).await?;
    tracing::info!(
        room_id = room.room_id,
        room = room.name,
        link_id = id,
        %role,
        expires_in_hours,
        max_uses,
        user = managed.user.username,
        "share link created"
    );
    let outcome = Outcome {
        new_link: Some(format!("{}/join/{token}", origin(&state, &headers))),
        ..Outcome::default()
    };
    managed.page(&state, &outcome, StatusCode::CREATED).await
}

/// Where users reach this server: the first `--allowed-origins` entry (the public origin behind
/// a reverse proxy) or else the `Host` the request was sent to.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = state.config.allowed_origins.first() {
        return origin.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

#[derive(Deserialize)]
struct NoFields {}

async fn revoke(
    State(state): State<AppState>,
    managed: Managed,
    Path(params): Path<HashMap<String, String>>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let room = &managed.room;
    let id = params.get("id").and_then(|id| id.parse::<i64>().ok());
    let revoked = match id {
        Some(id) => {
            state
                .store
                .revoke_link(room.room_id, id, now_millis())
                .await?
        }
        None => false,
    };
    if !revoked {
        let error = "That link does not exist or was revoked already.".to_owned();
        return managed.refuse(&state, StatusCode::NOT_FOUND, error).await;
    }
    tracing::info!(
        room_id = room.room_id,
        room = room.name,
        link_id = id,
        user = managed.user.username,
        "share link revoked"
    );
    Ok(managed.done())
}

/// `GET /join/{token}`: signed in, makes the user a member and sends them to the room;
/// signed out, sends them to log in (or sign up) first and come back here.
async fn join(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(user) = current_user(&session).await? else {
        return Err(AppError::LoginRequired {
            next: format!("/join/{token}"),
        });
    };
    let redeemed = if token.len() == TOKEN_CHARS && token.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        state
            .store
            .redeem_link(&token_hash(&token), user.id, now_millis())
            .await?
    } else {
        Err(LinkRefusal::Unknown)
    };
    let redeemed = match redeemed {
        Ok(redeemed) => redeemed,
        Err(refusal) => {
            let ctx = page_context(&session).await?;
            let (status, what) = match refusal {
                LinkRefusal::Unknown => (
                    StatusCode::NOT_FOUND,
                    "This share link does not exist. Check that it was copied whole.",
                ),
                LinkRefusal::Revoked => (StatusCode::GONE, "This share link was revoked."),
                LinkRefusal::Expired => (StatusCode::GONE, "This share link has expired."),
                LinkRefusal::UsedUp => (
                    StatusCode::GONE,
                    "This share link has been used as many times as it allows.",
                ),
            };
            let page = errors::link_refused(&ctx, what);
            return Ok((status, page).into_response());
        }
    };
    if redeemed.changed {
        tracing::info!(
            room_id = redeemed.room_id,
            role = %redeemed.role,
            user = user.username,
            "joined through a share link"
        );
        state
            .rooms
            .access_changed(redeemed.room_id, AccessChange::Rules)
            .await;
    }
    match state
        .store
        .room_access_by_id(redeemed.room_id, user.id)
        .await?
    {
        Some(room) => Ok(Redirect::to(&format!("/rooms/{}", room.name)).into_response()),
        // Deleted in between.
        None => Ok(Redirect::to("/").into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_empty_or_whole_numbers_in_range() {
        assert_eq!(optional_count("", 10), Ok(None));
        assert_eq!(optional_count(" 3 ", 10), Ok(Some(3)));
        for bad in ["0", "-1", "11", "1.5", "two", "99999999999999999999"] {
            assert_eq!(optional_count(bad, 10), Err(()), "{bad}");
        }
    }

    #[test]
    fn a_token_is_stored_as_its_sha256() {
        assert_eq!(token_hash("abc").len(), 32);
        assert_ne!(token_hash("abc"), token_hash("abd"));
        assert_eq!(random_token(TOKEN_CHARS).len(), TOKEN_CHARS);
    }
}

//! The logged-in user, kept in the server-side session (tower-sessions, stored in SQLite).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::error::AppError;
use crate::store::Store;

const USER_KEY: &str = "user";

/// The user a request's session belongs to. As an extractor it sends anonymous visitors to the
/// login page, with `next` pointing back where they were going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
}

/// The session's user, if someone is logged in.
pub async fn current_user(session: &Session) -> Result<Option<CurrentUser>, AppError> {
    Ok(session.get(USER_KEY).await?)
}

/// Starts a logged-in session (or renews one, after a password change). The id is cycled so
/// that a session id planted before login (session fixation) is worthless afterwards. The
/// session is saved now, under its new id, and indexed under its user, so that ending every
/// session of the user finds it.
pub async fn log_in(session: &Session, store: &Store, user: &CurrentUser) -> Result<(), AppError> {
    let old = session.id();
    session.cycle_id().await?;
    session.insert(USER_KEY, user).await?;
    session.save().await?;
    if let Some(old) = old {
        store.forget_session(&old.to_string()).await?;
    }
    let id = session
        .id()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a saved session has no id")))?;
    store.index_session(&id.to_string(), user.id).await?;
    Ok(())
}

/// Ends the session server-side: the stored record is deleted and the cookie removed.
pub async fn log_out(session: &Session, store: &Store) -> Result<(), AppError> {
    let id = session.id();
    session.flush().await?;
    if let Some(id) = id {
        store.forget_session(&id.to_string()).await?;
    }
    Ok(())
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, reason)| {
                AppError::Internal(anyhow::anyhow!("no session layer: {reason}"))
            })?;
        match current_user(&session).await? {
            Some(user) => Ok(user),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |pq| pq.as_str())
                    .to_owned();
                Err(AppError::LoginRequired { next })
            }
        }
    }
}

//! CSRF protection for forms: a random token per session, rendered into every form as the
//! hidden input `csrf_token` and checked on every POST by the [`CsrfForm`] extractor.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::AppError;

const CSRF_KEY: &str = "csrf_token";

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token = random_token(43);
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

/// `chars` random letters and digits from the operating system's generator (through
/// `thread_rng`, a CSPRNG): about 5.95 bits each, and safe in URLs and forms as they are.
pub fn random_token(chars: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(chars)
        .map(char::from)
        .collect()
}

/// A url-encoded form whose `csrf_token` field matched the session's token. Anything else is
/// refused with 403 before the handler runs.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

/// Compares without stopping at the first difference, so response time says nothing about how
/// much of a guessed token was right.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = req
            .extensions()
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no session layer")))?;
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest(rejection.body_text()),
            }
        })?;
        let sent = serde_urlencoded::from_bytes::<TokenField>(&body)
            .ok()
            .and_then(|field| field.csrf_token);
        let expected = session.get::<String>(CSRF_KEY).await?;
        match (sent, expected) {
            (Some(sent), Some(expected)) if same_token(&sent, &expected) => {}
            _ => return Err(AppError::Csrf),
        }
        let form = serde_urlencoded::from_bytes::<T>(&body)
            .map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
        Ok(Self(form))
    }
}

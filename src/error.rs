//! Errors of the HTTP layer and the response each one becomes. Database and internal details are
//! logged, never sent (after realworld-axum-sqlx `src/http/error.rs`).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::views::{errors, PageContext};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: the thing named in the URL does not exist.
    #[error("not found")]
    NotFound,
    /// 403: a POST without the session's CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// 303 to the login page: the page needs a logged-in user. `next` is where to return.
    #[error("login required")]
    LoginRequired { next: String },
    /// 401 as JSON: an API call without a logged-in session.
    #[error("not logged in")]
    Unauthorized,
    /// 400: the request could not be read.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 413: the request body is larger than the server accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 500: a database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// 500: the session store failed.
    #[error("session error: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// 500: anything else that is our fault.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let ctx = PageContext::default();
        match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                errors::not_found(&ctx, "There is nothing at this address."),
            )
                .into_response(),
            Self::Csrf => (StatusCode::FORBIDDEN, errors::csrf_failed(&ctx)).into_response(),
            Self::LoginRequired { next } => {
                let query =
                    serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, format!("/accounts/login?{query}"))],
                )
                    .into_response()
            }
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({ "error": "not logged in" })),
            )
                .into_response(),
            Self::BadRequest(reason) => {
                (StatusCode::BAD_REQUEST, errors::bad_request(&ctx, &reason)).into_response()
            }
            Self::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, errors::too_large(&ctx)).into_response()
            }
            Self::Database(_) | Self::Session(_) | Self::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, errors::internal(&ctx)).into_response()
            }
        }
    }
}

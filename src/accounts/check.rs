//! Checking a password someone typed, for a login, a password change and an account's
//! deletion alike: throttled (see [`crate::auth::throttle`]), through the hashing gate, and
//! refused with a reason a form can show.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::rules::{self, Problem};
use crate::auth::hashing::HashError;
use crate::auth::throttle::Refused;
use crate::error::AppError;
use crate::state::AppState;

/// The form error, and the `Retry-After`, of a request turned away by a busy hasher.
pub(super) const BUSY: &str = "The server is busy checking other passwords. Try again in a moment.";
pub(super) const BUSY_RETRY: Duration = Duration::from_secs(1);
/// The form error, and the `Retry-After`, of a request whose count could not be taken because
/// the database failed: refused, rather than let through uncounted.
pub(super) const UNAVAILABLE: &str =
    "The server cannot take sign-ins or sign-ups right now. Try again in a moment.";
pub(super) const UNAVAILABLE_RETRY: Duration = Duration::from_secs(5);

/// Why a password was not accepted: the status, the message for the form, and when to retry.
#[derive(Debug)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub message: String,
    pub retry: Option<Duration>,
    /// The password was wrong (rather than not checked at all).
    wrong: bool,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>, retry: Option<Duration>) -> Self {
        Self {
            status,
            message: message.into(),
            retry,
            wrong: false,
        }
    }

    /// The refusal as a form's problem: with the password field named `field` when the
    /// password was wrong, with the form as a whole otherwise.
    pub fn problem_with(&self, field: &'static str) -> Problem {
        match self.wrong {
            true => Problem::with(field, self.message.clone()),
            false => Problem::general(self.message.clone()),
        }
    }

    /// [`Refusal::problem_with`] for a field called `password`.
    pub fn problem(&self) -> Problem {
        self.problem_with("password")
    }

    /// `page` (the form again, showing [`Refusal::message`]) with the refusal's status, and a
    /// `Retry-After` when there is a time to retry.
    pub fn respond(&self, page: impl IntoResponse) -> Response {
        match self.retry {
            Some(wait) => (self.status, retry_after(wait, page)).into_response(),
            None => (self.status, page).into_response(),
        }
    }
}

/// Checks `password` for the account `username` (whose stored hash is `stored`, `None` when
/// there is no such account) from `address`. `wrong` is the message for a wrong password.
pub(super) async fn check_password(
    state: &AppState,
    username: &str,
    stored: Option<String>,
    password: String,
    address: IpAddr,
    wrong: &str,
) -> Result<Result<(), Refusal>, AppError> {
    // Counted as a failure before the password is checked, so that a burst of guesses cannot
    // all be checked before the first failure is counted.
    let attempt = match state.throttle.begin(username, address).await {
        Ok(attempt) => attempt,
        Err(Refused::Unavailable(error)) => {
            tracing::error!(%error, username, %address, "password refused: it could not be counted");
            let retry = Some(UNAVAILABLE_RETRY);
            return Ok(Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                retry,
            )));
        }
        Err(Refused::Locked(wait)) => {
            tracing::warn!(username, %address, "password refused: throttled");
            let message = format!(
                "Too many failed attempts. Try again in {}.",
                wait_text(wait)
            );
            return Ok(Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                message,
                Some(wait),
            )));
        }
    };
    let password = if password.len() > rules::PASSWORD_MAX * 4 {
        String::new()
    } else {
        password
    };
    let known = stored.is_some();
    let matched = match state.hashing.verify(password, stored).await {
        Ok(matched) => matched,
        Err(HashError::Busy) => {
            attempt.not_checked().await;
            let retry = Some(BUSY_RETRY);
            return Ok(Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                BUSY,
                retry,
            )));
        }
        Err(HashError::Failed(error)) => return Err(error.into()),
    };
    if !(known && matched) {
        drop(attempt);
        tracing::info!(username, %address, "wrong password");
        let refusal = Refusal {
            wrong: true,
            ..Refusal::new(StatusCode::UNAUTHORIZED, wrong, None)
        };
        return Ok(Err(refusal));
    }
    attempt.succeeded().await;
    Ok(Ok(()))
}

/// A refusal the client may retry after `wait`, said in a `Retry-After` header.
pub(super) fn retry_after(wait: Duration, refusal: impl IntoResponse) -> Response {
    let seconds = wait.as_secs().max(1).to_string();
    ([(header::RETRY_AFTER, seconds)], refusal).into_response()
}

/// "3 minutes", "40 seconds".
pub(super) fn wait_text(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    if secs < 60 {
        return format!("{secs} second{}", if secs == 1 { "" } else { "s" });
    }
    let minutes = secs.div_ceil(60);
    format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_seconds_or_minutes() {
        assert_eq!(wait_text(Duration::from_secs(1)), "1 second");
        assert_eq!(wait_text(Duration::from_secs(59)), "59 seconds");
        assert_eq!(wait_text(Duration::from_secs(61)), "2 minutes");
    }
}

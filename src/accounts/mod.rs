//! Accounts: register, log in, log out (the routes under `/accounts`).

pub mod rules;

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::hashing::HashError;
use crate::auth::throttle::Refused;
use crate::auth::{self, page_context, ClientAddress, CsrfForm, CurrentUser};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::views::accounts::{self as views, LoginView, RegisterView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts/register", get(register_form).post(register))
        .route("/accounts/login", get(login_form).post(login))
        .route("/accounts/logout", post(logout))
}

async fn register_form(
    session: Session,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    let next = safe_next(query.next.as_deref());
    if ctx.user.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    let view = RegisterView {
        next,
        ..Default::default()
    };
    Ok(views::register(&ctx, &view).into_response())
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    /// Where to go once signed up (a share link, say), as on the login form.
    next: Option<String>,
}

const TAKEN: &str = "That username is taken. Pick another one.";
/// The form error, and the `Retry-After`, of a login or sign-up turned away by a busy hasher.
const BUSY: &str = "The server is busy checking other passwords. Try again in a moment.";
const BUSY_RETRY: Duration = Duration::from_secs(1);
/// The form error, and the `Retry-After`, of a login or sign-up whose count could not be taken
/// because the database failed: refused, rather than let through uncounted.
const UNAVAILABLE: &str =
    "The server cannot take sign-ins or sign-ups right now. Try again in a moment.";
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(5);

async fn register(
    State(state): State<AppState>,
    session: Session,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<Response, AppError> {
    let username = form.username.trim();
    let next = safe_next(form.next.as_deref());
    let mut errors: Vec<String> = rules::username_problem(username).into_iter().collect();
    errors.extend(rules::password_problems(
        &form.password,
        &form.password_confirm,
    ));
    let refuse = |status: StatusCode, errors: Vec<String>, ctx| {
        (
            status,
            views::register(
                &ctx,
                &RegisterView {
                    username,
                    next,
                    errors,
                },
            ),
        )
            .into_response()
    };
    if !errors.is_empty() {
        let ctx = page_context(&session).await?;
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, errors, ctx));
    }
    // A taken name is refused before it costs a hash or a place in the address's quota.
    if state.store.user_by_name(username).await?.is_some() {
        let ctx = page_context(&session).await?;
        return Ok(refuse(StatusCode::CONFLICT, vec![TAKEN.to_owned()], ctx));
    }
    let signup = match state.signups.begin(address).await {
        Ok(signup) => signup,
        Err(Refused::Unavailable(error)) => {
            tracing::error!(%error, %address, "registration refused: it could not be counted");
            let ctx = page_context(&session).await?;
            let page = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                vec![UNAVAILABLE.into()],
                ctx,
            );
            return Ok(retry_after(UNAVAILABLE_RETRY, page));
        }
        Err(Refused::Locked(wait)) => {
            tracing::warn!(%address, "registration refused: too many from this address");
            let error = format!(
                "Too many accounts were created from your network. Try again in {}.",
                wait_text(wait)
            );
            let ctx = page_context(&session).await?;
            let page = refuse(StatusCode::TOO_MANY_REQUESTS, vec![error], ctx);
            return Ok(retry_after(wait, page));
        }
    };
    let hash = match state.hashing.hash(form.password).await {
        Ok(hash) => hash,
        Err(HashError::Busy) => {
            signup.not_created().await;
            let ctx = page_context(&session).await?;
            let page = refuse(StatusCode::SERVICE_UNAVAILABLE, vec![BUSY.to_owned()], ctx);
            return Ok(retry_after(BUSY_RETRY, page));
        }
        Err(HashError::Failed(error)) => {
            signup.not_created().await;
            return Err(error.into());
        }
    };
    let id = match state.store.insert_user(username, &hash).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            signup.not_created().await;
            let ctx = page_context(&session).await?;
            return Ok(refuse(StatusCode::CONFLICT, vec![TAKEN.to_owned()], ctx));
        }
        Err(e) => return Err(e.into()),
    };
    drop(signup);
    tracing::info!(user_id = id, username, "account created");
    auth::log_in(
        &session,
        &CurrentUser {
            id,
            username: username.to_owned(),
        },
    )
    .await?;
    Ok(Redirect::to(next).into_response())
}

/// A refusal the client may retry after `wait`, said in a `Retry-After` header.
fn retry_after(wait: Duration, refusal: Response) -> Response {
    let seconds = wait.as_secs().max(1).to_string();
    ([(header::RETRY_AFTER, seconds)], refusal).into_response()
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    session: Session,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    let next = safe_next(query.next.as_deref());
    if ctx.user.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    Ok(views::login(
        &ctx,
        &LoginView {
            next,
            ..Default::default()
        },
    )
    .into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let username = form.username.trim();
    let next = safe_next(form.next.as_deref());
    let refuse = |status: StatusCode, error: String, ctx| {
        let view = LoginView {
            username,
            next,
            error: Some(error),
        };
        (status, views::login(&ctx, &view)).into_response()
    };
    // Counted as a failure before the password is checked, so that a burst of guesses cannot
    // all be checked before the first failure is counted.
    let attempt = match state.throttle.begin(username, address).await {
        Ok(attempt) => attempt,
        Err(Refused::Unavailable(error)) => {
            tracing::error!(%error, username, %address, "login refused: it could not be counted");
            let ctx = page_context(&session).await?;
            let page = refuse(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE.into(), ctx);
            return Ok(retry_after(UNAVAILABLE_RETRY, page));
        }
        Err(Refused::Locked(wait)) => {
            tracing::warn!(username, %address, "login refused: throttled");
            let error = format!(
                "Too many failed attempts. Try again in {}.",
                wait_text(wait)
            );
            let ctx = page_context(&session).await?;
            let page = refuse(StatusCode::TOO_MANY_REQUESTS, error, ctx);
            return Ok(retry_after(wait, page));
        }
    };
    let user = state.store.user_by_name(username).await?;
    let password = if form.password.len() > rules::PASSWORD_MAX * 4 {
        String::new()
    } else {
        form.password
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matched = match state.hashing.verify(password, stored).await {
        Ok(matched) => matched,
        Err(HashError::Busy) => {
            attempt.not_checked().await;
            let ctx = page_context(&session).await?;
            let page = refuse(StatusCode::SERVICE_UNAVAILABLE, BUSY.to_owned(), ctx);
            return Ok(retry_after(BUSY_RETRY, page));
        }
        Err(HashError::Failed(error)) => return Err(error.into()),
    };
    let Some(user) = user.filter(|_| matched) else {
        drop(attempt);
        tracing::info!(username, %address, "login failed");
        let error = "Wrong username or password.".to_owned();
        let ctx = page_context(&session).await?;
        return Ok(refuse(StatusCode::UNAUTHORIZED, error, ctx));
    };
    attempt.succeeded().await;
    auth::log_in(
        &session,
        &CurrentUser {
            id: user.id,
            username: user.username,
        },
    )
    .await?;
    Ok(Redirect::to(next).into_response())
}

#[derive(Deserialize)]
struct NoFields {}

/// Ends the session, and with it every room socket opened on it (on every node, with 4401);
/// the user's other sessions stay.
async fn logout(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let user = auth::current_user(&session).await?;
    let id = session.id();
    auth::log_out(&session).await?;
    if let (Some(user), Some(id)) = (user, id) {
        state.rooms.end_session(id, user.id);
    }
    Ok(Redirect::to("/").into_response())
}

/// `next` when it is a path on this site, `/` otherwise: a login link must not become an open
/// redirect to another site (`//evil.example`, `/\evil.example`, `https://…`).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

/// "3 minutes", "40 seconds".
fn wait_text(wait: Duration) -> String {
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
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/rooms/a?x=1")), "/rooms/a?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn waits_read_as_seconds_or_minutes() {
        assert_eq!(wait_text(Duration::from_secs(1)), "1 second");
        assert_eq!(wait_text(Duration::from_secs(59)), "59 seconds");
        assert_eq!(wait_text(Duration::from_secs(61)), "2 minutes");
    }
}

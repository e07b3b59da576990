//! Accounts: register, log in, log out (the routes under `/accounts`); changing the password
//! and deleting the account are in [`manage`].

mod check;
mod manage;
pub mod rules;

pub(crate) use manage::sole_owner_message;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::hashing::HashError;
use crate::auth::throttle::Refused;
use crate::auth::{self, page_context, ClientAddress, CsrfForm, CurrentUser};
use crate::config::Registration;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::is_unique_violation;
use crate::views::accounts::{self as views, LoginView, RegisterView};
use check::{
    check_password, retry_after, wait_text, BUSY, BUSY_RETRY, UNAVAILABLE, UNAVAILABLE_RETRY,
};
use rules::Problem;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts/register", get(register_form).post(register))
        .route("/accounts/login", get(login_form).post(login))
        .route("/accounts/logout", post(logout))
        .merge(manage::router())
}

/// Whether visitors may create accounts (`--registration`); when not, only operators add them.
fn registration_open(state: &AppState) -> bool {
    state.config.registration == Registration::Open
}

async fn register_form(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let ctx = page_context(&session).await?;
    let next = safe_next(query.next.as_deref());
    if ctx.user.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    if !registration_open(&state) {
        return Ok(views::registration_closed(&ctx, next).into_response());
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

async fn register(
    State(state): State<AppState>,
    session: Session,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<Response, AppError> {
    if !registration_open(&state) {
        let ctx = page_context(&session).await?;
        let page = views::registration_closed(&ctx, safe_next(form.next.as_deref()));
        return Ok((StatusCode::FORBIDDEN, page).into_response());
    }
    let username = form.username.trim();
    let next = safe_next(form.next.as_deref());
    let mut errors: Vec<Problem> = rules::username_problem(username)
        .map(|message| Problem::with("username", message))
        .into_iter()
        .collect();
    errors.extend(rules::password_problems(
        &form.password,
        &form.password_confirm,
        username,
    ));
    let refuse = |status: StatusCode, errors: Vec<Problem>, ctx| {
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
        return Ok(refuse(
            StatusCode::CONFLICT,
            vec![Problem::with("username", TAKEN)],
            ctx,
        ));
    }
    let signup = match state.signups.begin(address).await {
        Ok(signup) => signup,
        Err(Refused::Unavailable(error)) => {
            tracing::error!(%error, %address, "registration refused: it could not be counted");
            let ctx = page_context(&session).await?;
            let page = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                vec![Problem::general(UNAVAILABLE)],
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
            let page = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                vec![Problem::general(error)],
                ctx,
            );
            return Ok(retry_after(wait, page));
        }
    };
    let hash = match state.hashing.hash(form.password).await {
        Ok(hash) => hash,
        Err(HashError::Busy) => {
            signup.not_created().await;
            let ctx = page_context(&session).await?;
            let page = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                vec![Problem::general(BUSY)],
                ctx,
            );
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
            return Ok(refuse(
                StatusCode::CONFLICT,
                vec![Problem::with("username", TAKEN)],
                ctx,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    drop(signup);
    tracing::info!(user_id = id, username, "account created");
    auth::log_in(
        &session,
        &state.store,
        &CurrentUser {
            id,
            username: username.to_owned(),
        },
    )
    .await?;
    Ok(Redirect::to(next).into_response())
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
    let user = state.store.user_by_name(username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    const WRONG: &str = "Wrong username or password.";
    let checked = check_password(&state, username, stored, form.password, address, WRONG).await?;
    // A right password always has an account: only a stored hash can match.
    let user = match (user, checked) {
        (Some(user), Ok(())) => user,
        (_, Err(refusal)) => {
            let ctx = page_context(&session).await?;
            let view = LoginView {
                username,
                next,
                error: Some(refusal.problem()),
            };
            return Ok(refusal.respond(views::login(&ctx, &view)));
        }
        (None, Ok(())) => return Err(anyhow::anyhow!("a right password without an account").into()),
    };
    auth::log_in(
        &session,
        &state.store,
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
    auth::log_out(&session, &state.store).await?;
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
}

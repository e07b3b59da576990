//! The one place where every resource's router is merged and the layers every request passes
//! through are set: sessions, request logging and metrics, body limit, security and caching
//! headers.

use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore};
use tracing::Level;

use crate::state::AppState;
use crate::{accounts, assets, health, history, realtime, rooms};

/// Forms are small; the socket has its own frame limit.
const BODY_LIMIT: usize = 64 * 1024;

/// Styles are inline-allowed because CodeMirror injects its own `<style>` elements.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

pub fn router<S: SessionStore + Clone>(state: AppState, sessions: S) -> Router {
    let idle = time::Duration::seconds(
        i64::try_from(state.config.session_idle().as_secs()).unwrap_or(i64::MAX),
    );
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("chatspace_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(idle));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        // Pages and chat history hold one user's data: no cache, a shared one above all, may
        // keep them. Static files set their own caching.
        (header::CACHE_CONTROL, "no-store"),
    ];
    let mut app = Router::new()
        .merge(rooms::router())
        .merge(accounts::router())
        .merge(history::router())
        .merge(realtime::router())
        .merge(assets::router())
        .merge(health::router())
        .merge(match state.config.metrics_bind {
            Some(_) => Router::new(),
            None => crate::metrics::router(state.rooms.gauges().clone()),
        })
        .fallback(unknown_path)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT));
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.layer(session_layer)
        .layer(trace)
        .layer(axum::middleware::from_fn(crate::metrics::track_request))
}

/// Every path no router knows gets the site's styled 404 page with a link home (signed in or
/// not), instead of axum's empty response. Unknown rooms and API routes answer their own 404s.
async fn unknown_path(session: Session) -> Response {
    match crate::auth::page_context(&session).await {
        Ok(ctx) => (
            StatusCode::NOT_FOUND,
            crate::views::errors::not_found(&ctx, "There is nothing at this address."),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

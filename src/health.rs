//! `GET /healthz`: liveness, 200 when the database answers. `GET /readyz`: readiness, 200 when
//! this node can serve (its database and, when configured, the bus to the other nodes answer),
//! else 503 with what is missing, so that a load balancer sends users elsewhere.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
}

async fn health(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if let Err(error) = state.store.ping().await {
        tracing::warn!(%error, "not ready: the database does not answer");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: database unavailable",
        );
    }
    if let Some(bus) = &state.bus {
        // A node that cannot reach Redis would serve rooms without the other nodes' edits.
        let reachable = bus.ping().await;
        if let Err(error) = &reachable {
            tracing::warn!(%error, "not ready: Redis does not answer");
        }
        if reachable.is_err() || !bus.is_up() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: bus unavailable",
            );
        }
    }
    (StatusCode::OK, "ready")
}

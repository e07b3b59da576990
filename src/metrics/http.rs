//! HTTP request durations, by method, route and status class. The route is the template the
//! router matched (`/rooms/{name}`), never the path itself, so that no room name becomes a
//! label value; a request no route matched is `unmatched`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::HTTP_REQUEST_SECONDS;

/// Middleware (`axum::middleware::from_fn`) that records [`HTTP_REQUEST_SECONDS`]. Added with
/// `Router::layer`, it runs after routing, where the matched route is known.
pub async fn track_request(request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None => "unmatched".to_owned(),
    };
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = status_class(response.status());
    metrics::histogram!(HTTP_REQUEST_SECONDS, "method" => method, "route" => route, "status" => status)
        .record(started.elapsed());
    response
}

/// The method as a label: the ones a browser or a client of this server sends, and `other`
/// for any other (a client may send a method of its own making).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

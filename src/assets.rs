//! Static files (CSS, the built JS bundles, the icon), embedded in the binary so the server runs
//! from any directory. Served at `/static/<path>` with an ETag for revalidation.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The room page's stylesheet, served as one file: its parts under `static/room/`, in this
/// order (later rules win ties), joined by blank lines.
const ROOM_CSS: &str = concat!(
    include_str!("../static/room/palette.css"),
    "\n",
    include_str!("../static/room/toolbar.css"),
    "\n",
    include_str!("../static/room/editor.css"),
    "\n",
    include_str!("../static/room/presence.css"),
    "\n",
    include_str!("../static/room/chat.css"),
    "\n",
    include_str!("../static/room/readonly.css"),
    "\n",
    include_str!("../static/room/history-panel.css"),
    "\n",
    include_str!("../static/room/versions.css"),
    "\n",
    include_str!("../static/room/tabs.css"),
    "\n",
    include_str!("../static/room/preview.css"),
    "\n",
    include_str!("../static/room/comments.css"),
);

/// Every file under `static/` that the server serves, with its content type.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/style.css"),
    ),
    ("room.css", "text/css; charset=utf-8", ROOM_CSS.as_bytes()),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../static/favicon.svg"),
    ),
    (
        "dist/room.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/dist/room.js"),
    ),
    (
        "dist/home.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/dist/home.js"),
    ),
    (
        "dist/settings.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/dist/settings.js"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(serve))
}

fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        FILES
            .iter()
            .map(|(_, _, body)| {
                let mut hasher = DefaultHasher::new();
                body.hash(&mut hasher);
                format!("\"{:016x}\"", hasher.finish())
            })
            .collect()
    })
}

async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = FILES.iter().position(|(name, _, _)| *name == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, content_type, body) = FILES[index];
    let etag = etags().get(index).cloned().unwrap_or_default();
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A part added under `static/room/` but not to [`ROOM_CSS`] would style nothing.
    #[test]
    fn room_css_holds_every_part() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static/room");
        let mut parts = 0;
        for entry in std::fs::read_dir(dir).expect("static/room is readable") {
            let path = entry.expect("a directory entry").path();
            let text = std::fs::read_to_string(&path).expect("a readable part");
            assert!(
                ROOM_CSS.contains(&text),
                "{} is not in room.css",
                path.display()
            );
            parts += 1;
        }
        assert!(parts >= 2, "static/room holds the parts of room.css");
    }
}

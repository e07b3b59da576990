//! What survives a restart on the same database file.

use reqwest::StatusCode;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn users_rooms_and_sessions_survive_a_restart() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "general").await;
    let app = app.restart().await;
    assert!(
        alice.get_text("/").await.contains("Signed in as"),
        "the session survived"
    );
    assert_eq!(
        alice.get("/rooms/general").await.status(),
        StatusCode::OK,
        "the room survived"
    );
    let again = app.browser();
    assert_eq!(
        again.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the account survived"
    );
    assert!(again
        .get_text("/")
        .await
        .contains("href=\"/rooms/general\""));
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let app = spawn_app().await;
    let response = app.browser().get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn static_files_are_served_from_the_binary() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in [
        "/static/style.css",
        "/static/room.css",
        "/static/dist/room.js",
        "/static/dist/home.js",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers().get("etag").is_some());
    }
    assert_eq!(
        browser.get("/static/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

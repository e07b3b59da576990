//! Creating rooms, the directory, the room page.

use reqwest::StatusCode;

use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn a_created_room_is_listed_and_opens() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let response = alice.create_room("general").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/rooms/general");
    let home = alice.get_text("/").await;
    assert!(home.contains("href=\"/rooms/general\""));
    assert!(home.contains("by alice"));
    let room = alice.get("/rooms/general").await;
    assert_eq!(room.status(), StatusCode::OK);
    let html = room.text().await.unwrap();
    assert!(
        html.contains("id=\"editor\"") && html.contains("id=\"chat-log\""),
        "room layout"
    );
    assert!(html.contains("data-room=\"general\""));
}

#[tokio::test]
async fn the_directory_lists_newest_rooms_first() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    for name in ["first", "second", "third"] {
        alice.create_room(name).await;
    }
    let home = alice.get_text("/").await;
    let at = |name: &str| home.find(&format!("href=\"/rooms/{name}\"")).unwrap();
    assert!(at("third") < at("second") && at("second") < at("first"));
}

#[tokio::test]
async fn a_room_name_taken_in_another_case_is_refused_with_an_explanation() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    alice.create_room("Lobby").await;
    let response = alice.create_room("lobby").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("That room name is taken: “Lobby” already exists"),
        "{html}"
    );
    assert!(html.contains("value=\"lobby\""), "what was typed is kept");
}

#[tokio::test]
async fn invalid_room_names_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let long = "x".repeat(51);
    for (name, reason) in [
        ("", "Give the room a name"),
        ("two words", "may only hold"),
        (long.as_str(), "too long"),
        ("<b>x</b>", "may only hold"),
    ] {
        let response = alice.create_room(name).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(reason), "{name:?} should say {reason:?}");
        assert!(!html.contains("<b>x</b>"), "input is escaped");
    }
}

#[tokio::test]
async fn an_anonymous_visitor_is_sent_to_login_with_next() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "general").await;
    let response = app.browser().get("/rooms/general").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/accounts/login?next=%2Frooms%2Fgeneral"
    );
}

#[tokio::test]
async fn an_unknown_room_is_a_404_page() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let response = alice.get("/rooms/nowhere").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("There is no room called"));
}

#[tokio::test]
async fn room_names_are_found_whatever_their_case() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "MixedCase").await;
    let html = alice.get_text("/rooms/mixedcase").await;
    assert!(
        html.contains("data-room=\"MixedCase\""),
        "the canonical name is used"
    );
}

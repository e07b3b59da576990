//! A room socket lives no longer than the session it was opened on: logging out closes the
//! sockets of that session (and only those) within a second, and so does the session's expiry.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with, PASSWORD};
use crate::ws::WsClient;

/// How soon an ended session's sockets must close.
const WITHIN: Duration = Duration::from_secs(1);

#[tokio::test]
async fn logging_out_closes_the_sockets_of_that_session_only() {
    let app = spawn_app().await;
    let laptop = app.browser();
    laptop.register_with_room("alice", "notes").await;
    let phone = app.browser();
    assert_eq!(
        phone.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut on_laptop = WsClient::join(&app, &laptop, "notes", 1).await;
    let mut also_on_laptop = WsClient::join(&app, &laptop, "notes", 2).await;
    let mut on_phone = WsClient::join(&app, &phone, "notes", 3).await;

    assert_eq!(laptop.logout().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(on_laptop.closed_within(WITHIN).await, Some(Some(4401)));
    assert_eq!(also_on_laptop.closed_within(WITHIN).await, Some(Some(4401)));

    // The other session's socket still edits and chats.
    on_phone.insert(0, "still here").await;
    on_phone.send_chat("p-1", "hello").await;
    assert!(on_phone.pump_until(|c| c.acks().len() == 1).await);
    assert_eq!(on_phone.closed, None);
    let mut again = WsClient::join(&app, &phone, "notes", 4).await;
    assert!(again.pump_until(|c| c.text() == "still here").await);
}

#[tokio::test]
async fn a_socket_of_a_logged_out_session_can_no_longer_change_the_room() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut tab = WsClient::join(&app, &alice, "notes", 1).await;
    let mut watcher = WsClient::join(&app, &bob, "notes", 2).await;
    assert_eq!(alice.logout().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(tab.closed_within(WITHIN).await, Some(Some(4401)));

    // Bob's own edit, sent after, is the only one he sees and the only one stored.
    watcher.insert(0, "bob").await;
    watcher.send_chat("b-1", "only bob").await;
    assert!(watcher.pump_until(|c| c.acks().len() == 1).await);
    watcher.roundtrip().await;
    assert_eq!(watcher.text(), "bob");
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
}

#[tokio::test]
async fn a_socket_closes_when_its_session_expires() {
    let app = spawn_app_with(|config| config.session_idle_secs = Some(3)).await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let opened = Instant::now();
    let mut tab = WsClient::join(&app, &alice, "notes", 1).await;
    assert_eq!(
        tab.closed_within(Duration::from_secs(10)).await,
        Some(Some(4401)),
        "closed as signed out"
    );
    assert!(
        opened.elapsed() >= Duration::from_millis(1500),
        "not before the session expired ({:?})",
        opened.elapsed()
    );
    // The session is gone for pages too.
    let page = alice.get("/rooms/notes").await;
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "sent to the login page"
    );
}

//! Who may use a room, on the socket: a private room is missing to a non-member, and a change
//! of role, membership or rules reaches the open sockets within a second.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{spawn_app, Browser, TestApp};
use crate::ws::{open_socket, read_until_close, WsClient};

/// How soon a committed change must reach an open socket.
const WITHIN: Duration = Duration::from_secs(1);

async fn registered(app: &TestApp, username: &str) -> Browser {
    let browser = app.browser();
    assert_eq!(
        browser.register(username).await.status(),
        StatusCode::SEE_OTHER
    );
    browser
}

/// Alice owns the public room `notes`; both she and Bob (its default role) have a socket in it.
async fn owner_and_bob_in_notes(app: &TestApp) -> (Browser, Browser, WsClient, WsClient) {
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let bob_http = registered(app, "bob").await;
    let owner = WsClient::join(app, &alice, "notes", 1).await;
    let bob = WsClient::join(app, &bob_http, "notes", 2).await;
    (alice, bob_http, owner, bob)
}

/// The close code and the frames a socket as `browser` to `room` gets before it.
async fn refusal(app: &TestApp, browser: &Browser, room: &str) -> (Option<u16>, usize) {
    let cookie = browser.cookie_header();
    let mut socket = open_socket(&app.ws_url(room), cookie.as_deref(), None).await;
    let (code, frames) = read_until_close(&mut socket).await;
    (code, frames.len())
}

#[tokio::test]
async fn a_private_room_is_refused_to_a_non_member_as_a_missing_one_is() {
    let app = spawn_app().await;
    let alice = registered(&app, "alice").await;
    alice.create_private_room("secret").await;
    let carol = registered(&app, "carol").await;
    assert_eq!(refusal(&app, &carol, "secret").await, (Some(4404), 0));
    assert_eq!(refusal(&app, &carol, "SECRET").await, (Some(4404), 0));
    assert_eq!(refusal(&app, &carol, "nowhere").await, (Some(4404), 0));
    let owner = WsClient::join(&app, &alice, "secret", 1).await;
    assert_eq!(owner.role.as_deref(), Some("owner"));
    alice.assign_role("secret", "carol", "viewer").await;
    let member = WsClient::join(&app, &carol, "secret", 2).await;
    assert_eq!(member.role.as_deref(), Some("viewer"));
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_open_socket() {
    let app = spawn_app().await;
    let (alice, _bob_http, mut owner, mut bob) = owner_and_bob_in_notes(&app).await;
    assert_eq!(bob.role.as_deref(), Some("editor"), "the default role");

    alice.assign_role("notes", "bob", "viewer").await;
    let viewer = |c: &WsClient| c.role.as_deref() == Some("viewer");
    assert!(bob.pump_within(WITHIN, viewer).await, "downgraded in time");
    bob.insert(0, "typed as a viewer").await;
    bob.roundtrip().await;
    owner.roundtrip().await;
    assert_eq!(owner.text(), "", "a downgraded editor changes nothing");
    assert_eq!(bob.denied.len(), 1);

    alice.assign_role("notes", "bob", "editor").await;
    let promoted = |c: &WsClient| c.role.as_deref() == Some("editor") && c.server_step1s == 2;
    assert!(bob.pump_within(WITHIN, promoted).await, "promoted in time");
    // Asked with a fresh step 1, the client sent up what it held.
    assert!(owner.pump_until(|c| c.text() == "typed as a viewer").await);
    bob.insert(0, "now ").await;
    assert!(
        owner
            .pump_until(|c| c.text() == "now typed as a viewer")
            .await
    );
    assert_eq!(bob.closed, None, "the same socket all along");
}

#[tokio::test]
async fn a_removed_member_is_closed_and_cannot_reconnect() {
    let app = spawn_app().await;
    let alice = registered(&app, "alice").await;
    alice.create_private_room("secret").await;
    let bob_http = registered(&app, "bob").await;
    alice.assign_role("secret", "bob", "editor").await;
    let mut bob = WsClient::join(&app, &bob_http, "secret", 2).await;
    let mut owner = WsClient::join(&app, &alice, "secret", 1).await;
    alice.remove_from_room("secret", "bob").await;
    assert_eq!(bob.closed_within(WITHIN).await, Some(Some(4405)));
    assert_eq!(refusal(&app, &bob_http, "secret").await, (Some(4404), 0));
    owner.roundtrip().await;
    assert_eq!(owner.closed, None, "the owner stays");
}

#[tokio::test]
async fn a_room_made_private_closes_the_sockets_of_non_members() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let bob_http = registered(&app, "bob").await;
    let carol_http = registered(&app, "carol").await;
    alice.assign_role("notes", "bob", "editor").await;
    let mut bob = WsClient::join(&app, &bob_http, "notes", 2).await;
    let mut carol = WsClient::join(&app, &carol_http, "notes", 3).await;
    alice.set_rules("notes", "public", "viewer").await;
    let viewer = |c: &WsClient| c.role.as_deref() == Some("viewer");
    assert!(carol.pump_within(WITHIN, viewer).await, "the default role");
    alice.set_rules("notes", "private", "viewer").await;
    assert_eq!(carol.closed_within(WITHIN).await, Some(Some(4405)));
    bob.roundtrip().await;
    assert_eq!(
        bob.role.as_deref(),
        Some("editor"),
        "a member keeps the role"
    );
    assert_eq!(bob.roles_received, 1, "told once, on joining");
}

#[tokio::test]
async fn deleting_a_room_closes_its_sockets_and_frees_its_name() {
    let app = spawn_app().await;
    let (alice, bob_http, mut owner, mut bob) = owner_and_bob_in_notes(&app).await;
    owner.insert(0, "soon gone").await;
    owner.roundtrip().await;
    alice.delete_room("notes").await;
    assert_eq!(owner.closed_within(WITHIN).await, Some(Some(4404)));
    assert_eq!(bob.closed_within(WITHIN).await, Some(Some(4404)));
    assert_eq!(refusal(&app, &bob_http, "notes").await, (Some(4404), 0));
    assert_eq!(
        alice.create_room("notes").await.status(),
        StatusCode::SEE_OTHER
    );
    let fresh = WsClient::join(&app, &alice, "notes", 3).await;
    assert_eq!(fresh.text(), "", "nothing of the deleted room");
}

//! An account's own settings: changing the password ends every other session of the user (and
//! every socket, 4401, within a second) while this one stays signed in; deleting the account
//! needs the password, ends everything the same way, keeps the messages as from a deleted user
//! and frees the name; a weak password is refused with the reason.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{location, spawn_app, Browser, TestApp, PASSWORD};
use crate::ws::WsClient;

/// How soon an ended session's sockets must close.
const WITHIN: Duration = Duration::from_secs(1);
const NEW_PASSWORD: &str = "violet kettle marches slowly";

async fn change_password(
    browser: &Browser,
    current: &str,
    new: &str,
    confirm: &str,
) -> reqwest::Response {
    let fields = [
        ("current_password", current),
        ("password", new),
        ("password_confirm", confirm),
    ];
    browser
        .submit("/accounts/password", "/accounts/password", &fields)
        .await
}

async fn signed_in(browser: &Browser) -> bool {
    browser.get_text("/").await.contains("Signed in as")
}

/// Alice, with her room "notes", signed in in two browsers.
async fn laptop_and_phone(app: &TestApp) -> (Browser, Browser) {
    let laptop = app.browser();
    laptop.register_with_room("alice", "notes").await;
    let phone = app.browser();
    assert_eq!(
        phone.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    (laptop, phone)
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_their_sockets_but_not_this_one() {
    let app = spawn_app().await;
    let (laptop, phone) = laptop_and_phone(&app).await;
    let mut on_phone = WsClient::join(&app, &phone, "notes", 1).await;
    let before = laptop.session_id();
    assert!(
        laptop
            .get_text("/")
            .await
            .contains("href=\"/accounts/password\""),
        "linked from the header"
    );

    let wrong = change_password(&laptop, "not my password", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("The current password is wrong."));
    let weak = change_password(&laptop, PASSWORD, "password123", "password123").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak
        .text()
        .await
        .unwrap()
        .contains("This password is too easy to guess"));
    let mismatch =
        change_password(&laptop, PASSWORD, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        on_phone.closed, None,
        "nothing ended while the change was refused"
    );
    assert!(signed_in(&phone).await);

    let changed = change_password(&laptop, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&changed), "/accounts/password?changed");
    assert_eq!(on_phone.closed_within(WITHIN).await, Some(Some(4401)));
    assert!(!signed_in(&phone).await, "the other session was signed out");
    assert_eq!(
        phone.get("/rooms/notes").await.status(),
        StatusCode::SEE_OTHER,
        "sent to the login page"
    );
    assert!(signed_in(&laptop).await, "this session stays");
    assert_ne!(laptop.session_id(), before, "under a new id");
    let page = laptop.get_text("/accounts/password?changed").await;
    assert!(page.contains("Your password was changed."), "{page}");
    let mut again = WsClient::join(&app, &laptop, "notes", 2).await;
    again.insert(0, "still editing").await;
    again.roundtrip().await;

    assert_eq!(
        app.browser().login("alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser().login("alice", NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_tabs_of_the_session_that_changed_the_password_stay_open_under_its_new_id() {
    let app = spawn_app().await;
    let (laptop, phone) = laptop_and_phone(&app).await;
    let mut laptop_tab = WsClient::join(&app, &laptop, "notes", 1).await;
    let mut on_phone = WsClient::join(&app, &phone, "notes", 2).await;

    let changed = change_password(&laptop, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(location(&changed), "/accounts/password?changed");
    assert_eq!(on_phone.closed_within(WITHIN).await, Some(Some(4401)));
    // The laptop's other tab, opened before the change, is not signed out: it keeps editing.
    laptop_tab.insert(0, "typed after the change").await;
    laptop_tab.roundtrip().await;
    assert_eq!(laptop_tab.closed, None);
    // It belongs to the session under its new id: logging that session out closes it.
    assert_eq!(laptop.logout().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(laptop_tab.closed_within(WITHIN).await, Some(Some(4401)));

    let reader = app.browser();
    assert_eq!(
        reader.login("alice", NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let check = WsClient::join(&app, &reader, "notes", 3).await;
    assert_eq!(check.text(), "typed after the change");
}

async fn delete_account(browser: &Browser, password: &str, confirm: bool) -> reqwest::Response {
    let mut fields = vec![("password", password)];
    if confirm {
        fields.push(("confirm", "yes"));
    }
    browser
        .submit("/accounts/delete", "/accounts/delete", &fields)
        .await
}

/// The authors of the room's chat history, oldest first, as `reader` gets them.
async fn history_authors(reader: &Browser, room: &str) -> Vec<String> {
    let page: Value = reader
        .get(&format!("/rooms/{room}/messages"))
        .await
        .json()
        .await
        .expect("history as JSON");
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["author"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Alice owns `talk`; bob (no room of his own) said something in it, and has a socket open on
/// another device.
async fn bob_in_alices_room(app: &TestApp) -> (Browser, Browser, WsClient) {
    let alice = app.browser();
    alice.register_with_room("alice", "talk").await;
    let bob = app.browser();
    assert_eq!(bob.register("bob").await.status(), StatusCode::SEE_OTHER);
    let mut said = WsClient::join(app, &bob, "talk", 1).await;
    said.send_chat("b-1", "hello from bob").await;
    assert!(said.pump_until(|c| c.acks().len() == 1).await);
    let other_device = app.browser();
    assert_eq!(
        other_device.login("bob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let socket = WsClient::join(app, &other_device, "talk", 2).await;
    (alice, bob, socket)
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_keeps_the_messages_as_a_deleted_users() {
    let app = spawn_app().await;
    let (alice, bob, mut bobs_socket) = bob_in_alices_room(&app).await;

    let unconfirmed = delete_account(&bob, PASSWORD, false).await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = delete_account(&bob, "not my password", true).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("The password is wrong."));
    assert!(signed_in(&bob).await, "nothing happened");
    assert_eq!(bobs_socket.closed, None);

    let deleted = delete_account(&bob, PASSWORD, true).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(deleted
        .text()
        .await
        .unwrap()
        .contains("Your account was deleted"));
    assert_eq!(bobs_socket.closed_within(WITHIN).await, Some(Some(4401)));
    assert!(!signed_in(&bob).await);
    assert_eq!(
        app.browser().login("bob", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let authors = history_authors(&alice, "talk").await;
    assert_eq!(authors.len(), 1, "the message stays");
    assert!(authors[0].starts_with("deleted user"), "{authors:?}");

    // The name is free again, and the newcomer is not the author of the old message.
    let newcomer = app.browser();
    assert_eq!(
        newcomer.register("bob").await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(history_authors(&alice, "talk").await[0].starts_with("deleted user"));
    let listed = alice.get_text("/rooms/talk/settings").await;
    assert!(
        !listed.contains("deleted user"),
        "no longer a member: {listed}"
    );
}

#[tokio::test]
async fn the_only_owner_of_a_room_is_told_to_hand_it_over_first() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "plans").await;
    let form = alice.get_text("/accounts/delete").await;
    assert!(form.contains("plans"), "the form names the room: {form}");
    let refused = delete_account(&alice, PASSWORD, true).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("You are the only owner of this room: plans."),
        "{html}"
    );
    assert!(signed_in(&alice).await);
    assert_eq!(
        app.browser().login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_weak_password_is_refused_at_registration_with_the_reason() {
    let app = spawn_app().await;
    let browser = app.browser();
    for weak in ["password123", "qwertyuiop", "carol1990!"] {
        let fields = [
            ("username", "carol"),
            ("password", weak),
            ("password_confirm", weak),
        ];
        let refused = browser
            .submit("/accounts/register", "/accounts/register", &fields)
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        let html = refused.text().await.unwrap();
        assert!(
            html.contains("This password is too easy to guess"),
            "{weak}: {html}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(
        browser.register("carol").await.status(),
        StatusCode::SEE_OTHER
    );
}

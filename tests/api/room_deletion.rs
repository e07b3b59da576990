//! Deleting a room: only with its name typed, and then everything of it goes and its name is
//! free again.

use reqwest::StatusCode;

use crate::access_helpers::{count_becomes, owner_and_outsider, role_in, RoomSettings};
use crate::helpers::{location, spawn_app};
use crate::ws::WsClient;

/// Rows the room with id `id` still has, per table that holds a room's data.
const ROOM_TABLES: [&str; 7] = [
    "messages",
    "doc_updates",
    "doc_snapshots",
    "doc_quarantine",
    "room_members",
    "room_links",
    "rooms",
];

async fn rows_of(app: &crate::helpers::TestApp, room_id: i64) -> Vec<(&'static str, i64)> {
    let mut rows = Vec::new();
    for table in ROOM_TABLES {
        let column = if table == "rooms" { "id" } else { "room_id" };
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = {room_id}");
        rows.push((table, app.count(&sql).await));
    }
    rows
}

#[tokio::test]
async fn deleting_a_room_removes_its_document_chat_members_and_links_and_frees_its_name() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "doomed", "public").await;
    alice.set_member("doomed", "bob", "editor").await;
    alice.new_link("doomed", "viewer", "").await;
    let id = app
        .count("SELECT id FROM rooms WHERE name = 'doomed'")
        .await;
    let mut client = WsClient::join(&app, &alice, "doomed", 1).await;
    client.insert(0, "secret plans").await;
    client.send_chat("m-1", "do not keep this").await;
    assert!(client.pump_until(|c| !c.acks().is_empty()).await);
    client.close().await;
    count_becomes(
        &app,
        &format!("SELECT COUNT(*) FROM doc_updates WHERE room_id = {id}"),
        1,
    )
    .await;

    let wrong = alice
        .settings_post("doomed", "delete", &[("confirm_name", "Doomed")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("type its name, “doomed”, exactly"));
    assert_eq!(role_in(&bob, "doomed").await.as_deref(), Some("editor"));

    let deleted = alice
        .settings_post("doomed", "delete", &[("confirm_name", "doomed")])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/");
    assert!(
        rows_of(&app, id).await.iter().all(|(_, n)| *n == 0),
        "{:?}",
        rows_of(&app, id).await
    );
    assert_eq!(role_in(&alice, "doomed").await, None);
    assert!(!bob.get_text("/").await.contains("/rooms/doomed"));

    // The name is free; the new room shares nothing with the old one, not even its id.
    assert_eq!(
        bob.create_room("doomed").await.status(),
        StatusCode::SEE_OTHER
    );
    let new_id = app
        .count("SELECT id FROM rooms WHERE name = 'doomed'")
        .await;
    assert!(new_id > id, "{new_id} after {id}");
    assert_eq!(role_in(&alice, "doomed").await.as_deref(), Some("editor"));
    let history = bob.get_text("/rooms/doomed/messages").await;
    assert_eq!(history, r#"{"messages":[],"more":false}"#);
    let fresh = WsClient::join(&app, &bob, "doomed", 2).await;
    assert_eq!(fresh.text(), "", "no document carried over");
}

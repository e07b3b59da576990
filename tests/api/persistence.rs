//! What reaches the database, and what comes back after a restart.

use std::time::Duration;

use crate::helpers::{spawn_app, spawn_app_with, Browser, TestApp};
use crate::ws::{open_socket, read_until_close, WsClient};

pub async fn alice_with_room(app: &TestApp) -> Browser {
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    alice
}

#[tokio::test]
async fn the_document_and_the_chat_survive_a_restart() {
    let app = spawn_app().await;
    let alice = alice_with_room(&app).await;
    let mut client = WsClient::join(&app, &alice, "notes", 1).await;
    client.insert(0, "persisted text").await;
    client.send_chat("m1", "persisted chat").await;
    assert!(client.pump_until(|c| !c.acks().is_empty()).await);
    drop(client);

    let app = app.restart().await;
    let mut again = WsClient::join(&app, &alice, "notes", 2).await;
    assert_eq!(again.text(), "persisted text");
    again.ask_since(0).await;
    assert!(again.pump_until(|c| !c.chat.is_empty()).await);
    let history = format!("{:?}", again.chat[0]);
    assert!(history.contains("persisted chat"), "{history}");
}

/// The text the room's stored update log replays to (no snapshot is involved here).
pub async fn logged_text(app: &TestApp) -> String {
    let pool = app.db().await;
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM doc_updates ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    let log = rows.iter().map(|(data,)| &data[..]);
    chatspace_crdt::RoomDoc::load(None, log)
        .expect("the stored log loads")
        .text()
}

#[tokio::test]
async fn updates_are_appended_to_the_log_in_batches() {
    let app = spawn_app_with(|c| c.flush_interval_ms = 50).await;
    let alice = alice_with_room(&app).await;
    let mut client = WsClient::join(&app, &alice, "notes", 1).await;
    for i in 0..20 {
        client.insert(i, "a").await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while logged_text(&app).await != "a".repeat(20) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "updates reach the log while the room stays open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Keystrokes that queued up together may be stored as one row; never more than one each.
    let rows = app.count("SELECT COUNT(*) FROM doc_updates").await;
    assert!((1..=20).contains(&rows), "{rows} rows for 20 keystrokes");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM doc_snapshots").await,
        0,
        "no compaction below the threshold"
    );
}

#[tokio::test]
async fn a_long_log_is_compacted_into_a_snapshot_that_loads_the_same_text() {
    let app = spawn_app_with(|c| {
        c.flush_interval_ms = 20;
        c.compact_after_updates = 10;
    })
    .await;
    let alice = alice_with_room(&app).await;
    let mut client = WsClient::join(&app, &alice, "notes", 1).await;
    for i in 0..35 {
        client.insert(i, "z").await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.count("SELECT COUNT(*) FROM doc_snapshots").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a snapshot is written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.count("SELECT COUNT(*) FROM doc_updates").await < 35,
        "the snapshot replaced log entries"
    );
    client.roundtrip().await;
    let want = client.text();
    drop(client);
    let app = app.restart().await;
    let reloaded = WsClient::join(&app, &alice, "notes", 2).await;
    assert_eq!(reloaded.text(), want);
    assert_eq!(
        app.count("SELECT format FROM doc_snapshots").await,
        3,
        "snapshots are Yjs update v2, zstd-compressed"
    );
}

#[tokio::test]
async fn an_idle_room_is_saved_as_a_snapshot_and_unloaded() {
    let app = spawn_app_with(|c| c.room_idle_secs = 1).await;
    let alice = alice_with_room(&app).await;
    let mut client = WsClient::join(&app, &alice, "notes", 1).await;
    client.insert(0, "idle").await;
    client.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.count("SELECT COUNT(*) FROM doc_snapshots").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle room saved a snapshot"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM doc_updates").await, 0);
    let back = WsClient::join(&app, &alice, "notes", 2).await;
    assert_eq!(
        back.text(),
        "idle",
        "the room loads again from the snapshot"
    );
}

#[tokio::test]
async fn two_clients_joining_a_cold_room_at_once_both_see_the_stored_document() {
    let app = spawn_app().await;
    let alice = alice_with_room(&app).await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut client = WsClient::join(&app, &alice, "notes", 1).await;
    client.insert(0, "x".repeat(50_000).as_str()).await;
    client.roundtrip().await;
    drop(client);
    let app = app.restart().await;
    let (a, b) = tokio::join!(
        WsClient::join(&app, &alice, "notes", 2),
        WsClient::join(&app, &bob, "notes", 3)
    );
    assert_eq!(a.text_len(), 50_000);
    assert_eq!(b.text_len(), 50_000);
}

#[tokio::test]
async fn a_room_whose_stored_data_is_corrupt_is_refused_and_left_untouched() {
    let app = spawn_app().await;
    let alice = alice_with_room(&app).await;
    let pool = app.db().await;
    let garbage: &[u8] = &[0xff, 0x00, 0x13, 0x37, 0x42];
    sqlx::query("INSERT INTO doc_snapshots (room_id, format, data, upto_seq, updated_at) SELECT id, 1, $1, 0, 0 FROM rooms")
        .bind(garbage)
        .execute(&pool)
        .await
        .unwrap();
    let mut socket =
        open_socket(&app.ws_url("notes"), alice.cookie_header().as_deref(), None).await;
    let (code, frames) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(4410));
    assert!(frames.is_empty());
    let (data,): (Vec<u8>,) = sqlx::query_as("SELECT data FROM doc_snapshots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(data, garbage, "the stored rows are never overwritten");
}

#[tokio::test]
async fn clients_that_join_without_editing_store_and_relay_nothing() {
    let app = spawn_app_with(|c| c.flush_interval_ms = 10).await;
    let alice = alice_with_room(&app).await;
    let mut watcher = WsClient::join(&app, &alice, "notes", 1).await;
    for id in 2..6 {
        // Each join answers the server's step 1 with an (empty) step 2, as y-websocket does.
        let mut idle = WsClient::join(&app, &alice, "notes", id).await;
        idle.roundtrip().await;
        idle.close().await;
    }
    // The room answers in order, so a relay of their step 2s would have come before this.
    watcher.roundtrip().await;
    assert_eq!(watcher.updates_received, 0, "no empty updates were relayed");
    // The room's writer stores in order too: once the watcher's edit is stored, anything the
    // others sent before it would be stored already.
    watcher.insert(0, "x").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while logged_text(&app).await != "x" {
        assert!(tokio::time::Instant::now() < deadline, "the edit is stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM doc_updates").await, 1);
}

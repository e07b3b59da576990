//! Restoring a version and importing a text file: the room's text is replaced by ordinary edits
//! that everyone sees live, after the old text is saved as a version; and who wrote what.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{location, spawn_app_with, Browser, TestApp};
use crate::history::{eventually, json, save_named, stored_text_is};
use crate::persistence::alice_with_room;
use crate::ws::WsClient;

async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.flush_interval_ms = 20;
        c.import_max_bytes = 1024 * 1024;
    })
    .await
}

/// The id of the newest version of `kind`.
async fn newest(browser: &Browser, room: &str, kind: &str) -> (i64, Value) {
    let versions = json(browser, &format!("/rooms/{room}/versions")).await;
    let version = versions
        .as_array()
        .expect("a list")
        .iter()
        .find(|v| v["kind"] == kind)
        .unwrap_or_else(|| panic!("a {kind} version in {versions}"))
        .clone();
    (version["id"].as_i64().expect("an id"), version)
}

async fn restore(browser: &Browser, room: &str, id: i64) -> reqwest::Response {
    browser
        .submit(
            &format!("/rooms/{room}"),
            &format!("/rooms/{room}/versions/{id}/restore"),
            &[],
        )
        .await
}

#[tokio::test]
async fn a_restore_is_seen_live_and_undone_by_restoring_the_version_saved_before_it() {
    let app = app().await;
    let alice = alice_with_room(&app).await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    let mut reader = WsClient::join(&app, &bob, "notes", 2).await;
    writer.insert(0, "version one").await;
    stored_text_is(&alice, "notes", "version one").await;
    let one = save_named(&alice, "notes", "one").await;
    writer.delete(8, 3).await;
    writer.insert(8, "two, longer ✓").await;
    stored_text_is(&alice, "notes", "version two, longer ✓").await;

    let response = restore(&alice, "notes", one).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/rooms/notes");
    assert!(
        reader.pump_until(|c| c.text() == "version one").await,
        "the other user sees the restore live"
    );
    assert!(writer.pump_until(|c| c.text() == "version one").await);
    let (before, version) = newest(&alice, "notes", "before_restore").await;
    assert_eq!(version["name"], format!("Before restoring version {one}"));
    assert_eq!(version["saved_by"], "alice");

    // Restoring what was there before the restore gives it back exactly.
    restore(&bob, "notes", before).await;
    assert!(
        reader
            .pump_until(|c| c.text() == "version two, longer ✓")
            .await
    );
    stored_text_is(&alice, "notes", "version two, longer ✓").await;
}

#[tokio::test]
async fn viewers_can_neither_restore_nor_import() {
    let app = app().await;
    let alice = alice_with_room(&app).await;
    let bob = app.browser();
    bob.register("bob").await;
    alice.assign_role("notes", "bob", "viewer").await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    writer.insert(0, "kept").await;
    stored_text_is(&alice, "notes", "kept").await;
    let id = save_named(&alice, "notes", "v").await;
    assert_eq!(
        restore(&bob, "notes", id).await.status(),
        StatusCode::FORBIDDEN
    );
    let imported = import(&bob, "notes", "x.txt", b"replaced".to_vec()).await;
    assert_eq!(imported.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        alice.get_text("/rooms/notes/export?format=txt").await,
        "kept"
    );
}

async fn import(browser: &Browser, room: &str, file: &str, bytes: Vec<u8>) -> reqwest::Response {
    let token = browser.csrf_token("/").await;
    let form = Form::new()
        .text("csrf_token", token)
        .part("file", Part::bytes(bytes).file_name(file.to_owned()));
    browser
        .post_multipart(&format!("/rooms/{room}/import"), form)
        .await
}

#[tokio::test]
async fn an_imported_text_file_replaces_the_text_after_the_old_one_is_saved() {
    let app = app().await;
    let alice = alice_with_room(&app).await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    writer.insert(0, "old text").await;
    stored_text_is(&alice, "notes", "old text").await;
    let markdown = "# Title\r\n\r\n- item ✓\r\nlast line";
    let response = import(&alice, "notes", "notes.MD", markdown.as_bytes().to_vec()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let expected = "# Title\n\n- item ✓\nlast line";
    assert!(
        writer.pump_until(|c| c.text() == expected).await,
        "seen live"
    );
    stored_text_is(&alice, "notes", expected).await;
    let (id, _) = newest(&alice, "notes", "before_import").await;
    let saved = json(&alice, &format!("/rooms/notes/versions/{id}")).await;
    assert_eq!(saved["text"], "old text");

    let too_big = import(&alice, "notes", "big.txt", vec![b'a'; 1024 * 1024 + 1]).await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_big.text().await.expect("body").contains("import limit"));
    let not_utf8 = import(&alice, "notes", "bad.txt", vec![b'o', b'k', 0xff, 0xfe]).await;
    assert_eq!(not_utf8.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_utf8.text().await.expect("body").contains("not UTF-8"));
    let wrong_kind = import(&alice, "notes", "notes.docx", b"PK".to_vec()).await;
    assert_eq!(wrong_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
    stored_text_is(&alice, "notes", expected).await;
}

#[tokio::test]
async fn the_server_knows_who_owns_each_client_id_and_refuses_a_forged_one() {
    let app = app().await;
    let alice = alice_with_room(&app).await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut a = WsClient::join(&app, &alice, "notes", 101).await;
    let mut b = WsClient::join(&app, &bob, "notes", 202).await;
    a.insert(0, "alice ").await;
    assert!(b.pump_until(|c| c.text() == "alice ").await);
    b.insert(6, "bob").await;
    assert!(a.pump_until(|c| c.text() == "alice bob").await);
    let authors = eventually_authors(&alice, 2).await;
    assert_eq!(authors["clients"]["101"], "alice");
    assert_eq!(authors["clients"]["202"], "bob");

    // Bob's connection writes under alice's client id.
    let mut forger = WsClient::join(&app, &bob, "notes", 101).await;
    forger.insert(0, "forged ").await;
    assert_eq!(
        forger.closed_within(Duration::from_secs(5)).await,
        Some(Some(4406))
    );
    a.roundtrip().await;
    assert_eq!(a.text(), "alice bob", "nothing of it reached anyone");
    stored_text_is(&alice, "notes", "alice bob").await;
    assert_eq!(b.closed, None, "bob's own socket carries on");

    // A sync step 2 is a resync: it may carry others' edits the server lacks (a crashed server
    // relayed them and lost them before storing), and is taken.
    let holder = yrs::Doc::with_client_id(101);
    let text = holder.get_or_insert_text(chatspace_crdt::TEXT_NAME);
    {
        use yrs::updates::decoder::Decode;
        use yrs::{ReadTxn, Text, Transact};
        let state = a
            .doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        let mut txn = holder.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(&state).expect("decodes"))
            .expect("applies");
        text.insert(&mut txn, 0, "held ");
    }
    let resync = WsClient::join_with_doc(&app, &bob, "notes", holder).await;
    assert!(a.pump_until(|c| c.text() == "held alice bob").await);
    assert_eq!(resync.closed, None);
}

async fn eventually_authors(browser: &Browser, count: usize) -> Value {
    let last = std::cell::RefCell::new(Value::Null);
    eventually("both client ids are recorded", || async {
        let value = json(browser, "/rooms/notes/authors").await;
        let done = value["clients"]
            .as_object()
            .is_some_and(|m| m.len() == count);
        *last.borrow_mut() = value;
        done
    })
    .await;
    last.into_inner()
}

#[tokio::test]
async fn versions_and_restores_work_on_the_text_everyone_sees_before_it_is_stored() {
    // The room stores nothing for a minute: what clients see is ahead of the database.
    let app = spawn_app_with(|c| c.flush_interval_ms = 60_000).await;
    let alice = alice_with_room(&app).await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    let mut reader = WsClient::join(&app, &bob, "notes", 2).await;
    writer.insert(0, "one").await;
    assert!(reader.pump_until(|c| c.text() == "one").await);
    let one = save_named(&alice, "notes", "one").await;
    let saved = json(&alice, &format!("/rooms/notes/versions/{one}")).await;
    assert_eq!(saved["text"], "one", "the version holds what everyone saw");
    writer.insert(3, " two").await;
    assert!(reader.pump_until(|c| c.text() == "one two").await);
    assert_eq!(
        alice.get_text("/rooms/notes/export?format=txt").await,
        "one two",
        "the export too"
    );
    restore(&alice, "notes", one).await;
    assert!(
        reader.pump_until(|c| c.text() == "one").await,
        "nothing everyone saw survives the restore"
    );
    let (_, before) = newest(&alice, "notes", "before_restore").await;
    let id = before["id"].as_i64().expect("an id");
    let before = json(&alice, &format!("/rooms/notes/versions/{id}")).await;
    assert_eq!(before["text"], "one two");
}

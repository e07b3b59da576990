//! Versions of a room's text (saved automatically when editing pauses, and by hand), their
//! differences from the current text, and exports of the document and the chat.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{location, spawn_app_with, Browser, TestApp};
use crate::persistence::alice_with_room;
use crate::ws::WsClient;

/// A server whose rooms count as paused after one second without edits, and store at once.
async fn app_with_quick_history() -> TestApp {
    spawn_app_with(|c| {
        c.flush_interval_ms = 20;
        c.history_quiet_secs = 1;
    })
    .await
}

pub async fn json(browser: &Browser, path: &str) -> Value {
    let response = browser.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.expect("JSON")
}

/// Polls `check` every 50 ms until it holds, failing the test after 30 seconds (generous: the
/// suites share two cores with builds).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `path` until `done` holds for its JSON, and returns that JSON.
async fn json_until(browser: &Browser, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let last = std::cell::RefCell::new(Value::Null);
    eventually(path, || async {
        let value = json(browser, path).await;
        let holds = done(&value);
        *last.borrow_mut() = value;
        holds
    })
    .await;
    last.into_inner()
}

/// Waits until the stored document's text is `text` (what a version or an export reads).
pub async fn stored_text_is(browser: &Browser, room: &str, text: &str) {
    let path = format!("/rooms/{room}/export?format=txt");
    eventually(
        &format!("the room's text is stored as {text:?}"),
        || async { browser.get_text(&path).await == text },
    )
    .await;
}

fn kinds_and_authors(versions: &Value) -> Vec<(String, Vec<String>)> {
    versions
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            let authors = v["authors"]
                .as_array()
                .expect("authors")
                .iter()
                .map(|a| a.as_str().expect("a name").to_owned())
                .collect();
            (v["kind"].as_str().expect("kind").to_owned(), authors)
        })
        .collect()
}

#[tokio::test]
async fn a_version_is_saved_each_time_editing_pauses_naming_who_wrote_since_the_last() {
    let app = spawn_app_with(|c| {
        c.flush_interval_ms = 20;
        // Long enough that typing one stored keystroke at a time never counts as a pause.
        c.history_quiet_secs = 3;
        // Compaction folds the log into snapshots all along: versions must not mind.
        c.compact_after_updates = 3;
    })
    .await;
    let alice = alice_with_room(&app).await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    // One log entry per keystroke: each is stored before the next is typed.
    let mut typed = String::new();
    for c in "first draft".chars() {
        writer.insert(typed.len() as u32, &c.to_string()).await;
        typed.push(c);
        stored_text_is(&alice, "notes", &typed).await;
    }
    let versions = json_until(&alice, "/rooms/notes/versions", |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    assert_eq!(
        kinds_and_authors(&versions),
        vec![("auto".to_owned(), vec!["alice".to_owned()])]
    );
    assert_eq!(versions[0]["size"], 11);

    let bob = app.browser();
    bob.register("bob").await;
    let mut other = WsClient::join(&app, &bob, "notes", 2).await;
    other.insert(11, " by bob").await;
    let versions = json_until(&bob, "/rooms/notes/versions", |v| {
        v.as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    assert_eq!(
        kinds_and_authors(&versions),
        vec![
            ("auto".to_owned(), vec!["bob".to_owned()]),
            ("auto".to_owned(), vec!["alice".to_owned()]),
        ],
        "newest first, each naming who wrote since the one before"
    );
    let first = versions[1]["id"].as_i64().expect("an id");
    let old = json(&bob, &format!("/rooms/notes/versions/{first}")).await;
    assert_eq!(old["text"], "first draft");
    eventually("the log is compacted meanwhile", || async {
        app.count("SELECT COUNT(*) FROM doc_snapshots").await > 0
    })
    .await;
}

#[tokio::test]
async fn a_named_version_keeps_its_text_and_shows_what_changed_since() {
    let app = app_with_quick_history().await;
    let alice = alice_with_room(&app).await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    writer.insert(0, "the quick fox").await;
    stored_text_is(&alice, "notes", "the quick fox").await;
    let saved = alice
        .submit(
            "/rooms/notes",
            "/rooms/notes/versions",
            &[("name", "  Before review ")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/rooms/notes");
    writer.delete(4, 6).await;
    writer.insert(4, "slow ").await;
    stored_text_is(&alice, "notes", "the slow fox").await;

    let versions = json(&alice, "/rooms/notes/versions").await;
    let named = versions
        .as_array()
        .expect("a list")
        .iter()
        .find(|v| v["kind"] == "named")
        .expect("the named version is listed");
    assert_eq!(named["name"], "Before review");
    assert_eq!(named["saved_by"], "alice");
    let id = named["id"].as_i64().expect("an id");
    let detail = json(&alice, &format!("/rooms/notes/versions/{id}")).await;
    assert_eq!(detail["text"], "the quick fox");
    let changes: Vec<(String, String)> = detail["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().expect("kind").to_owned(),
                c["text"].as_str().expect("text").to_owned(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("deleted".into(), "quick".into())),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("inserted".into(), "slow".into())),
        "{changes:?}"
    );

    let too_long = alice
        .submit(
            "/rooms/notes",
            "/rooms/notes/versions",
            &[("name", &"x".repeat(101))],
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = alice
        .get(&format!("/rooms/notes/versions/{}", id + 1000))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exports_give_back_the_text_exactly_and_the_state_as_a_yjs_update() {
    let app = app_with_quick_history().await;
    let alice = alice_with_room(&app).await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    let text = "# Notes\r\n\nünïcødé 🦊 and a tab\there\n";
    writer.insert(0, text).await;
    stored_text_is(&alice, "notes", text).await;

    for (format, content_type) in [
        ("txt", "text/plain; charset=utf-8"),
        ("md", "text/markdown; charset=utf-8"),
    ] {
        let response = alice
            .get(&format!("/rooms/notes/export?format={format}"))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"notes.{format}\"").as_str()
        );
        assert_eq!(response.bytes().await.expect("body"), text.as_bytes());
    }
    let yjs = alice.get("/rooms/notes/export?format=yjs").await;
    assert_eq!(yjs.status(), StatusCode::OK);
    let state = yjs.bytes().await.expect("body");
    let doc = chatspace_crdt::RoomDoc::load(None, [&state[..]]).expect("the export loads");
    assert_eq!(doc.text(), text);

    // At a version: the text as it was then.
    alice
        .submit("/rooms/notes", "/rooms/notes/versions", &[("name", "one")])
        .await;
    let versions = json(&alice, "/rooms/notes/versions").await;
    let id = versions[0]["id"].as_i64().expect("an id");
    writer.insert(0, "later ").await;
    stored_text_is(&alice, "notes", &format!("later {text}")).await;
    let old = alice
        .get(&format!("/rooms/notes/export?format=txt&version={id}"))
        .await;
    assert_eq!(
        old.headers()["content-disposition"],
        format!("attachment; filename=\"notes-version-{id}.txt\"").as_str()
    );
    assert_eq!(old.text().await.expect("body"), text);

    let bad = alice.get("/rooms/notes/export?format=docx").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_chat_export_holds_every_message_oldest_first() {
    let app = app_with_quick_history().await;
    let alice = alice_with_room(&app).await;
    let mut client = WsClient::join(&app, &alice, "notes", 1).await;
    for i in 0..3 {
        client
            .send_chat(&format!("m{i}"), &format!("message {i}"))
            .await;
    }
    assert!(client.pump_until(|c| c.acks().len() == 3).await);
    let response = alice.get("/rooms/notes/messages/export").await;
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"notes-chat.json\""
    );
    let messages: Value = response.json().await.expect("JSON");
    let texts: Vec<&str> = messages
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["text"].as_str().expect("text"))
        .collect();
    assert_eq!(texts, ["message 0", "message 1", "message 2"]);
    assert_eq!(messages[0]["author"], "alice");
}

#[tokio::test]
async fn history_routes_need_a_session_and_a_room() {
    let app = app_with_quick_history().await;
    let alice = alice_with_room(&app).await;
    for path in [
        "/rooms/nowhere/versions",
        "/rooms/nowhere/versions/1",
        "/rooms/nowhere/export?format=txt",
        "/rooms/nowhere/messages/export",
    ] {
        assert_eq!(
            alice.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let anonymous = app.browser();
    for path in [
        "/rooms/notes/versions",
        "/rooms/notes/export?format=txt",
        "/rooms/notes/messages/export",
    ] {
        assert_eq!(
            anonymous.get(path).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
}

#[tokio::test]
async fn automatic_versions_older_than_the_retention_go_and_named_ones_stay() {
    let app = spawn_app_with(|c| {
        c.flush_interval_ms = 20;
        c.history_quiet_secs = 1;
        c.history_retention_days = 30;
    })
    .await;
    let alice = alice_with_room(&app).await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    writer.insert(0, "text").await;
    json_until(&alice, "/rooms/notes/versions", |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    alice
        .submit("/rooms/notes", "/rooms/notes/versions", &[("name", "keep")])
        .await;
    drop(writer);
    // Both saved 31 days ago, as far as the server can tell.
    let pool = app.db().await;
    let month_ago = chatspace::clock::now_millis() - 31 * 86_400_000;
    sqlx::query(&format!("UPDATE doc_versions SET created_at = {month_ago}"))
        .execute(&pool)
        .await
        .expect("update");
    pool.close().await;
    let app = app.restart().await;
    let versions = json_until(&alice.clone_on(&app), "/rooms/notes/versions", |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    assert_eq!(versions[0]["name"], "keep");
}

/// Saves a named version of what the room has stored and returns its id.
pub async fn save_named(browser: &Browser, room: &str, name: &str) -> i64 {
    let saved = browser
        .submit(
            &format!("/rooms/{room}"),
            &format!("/rooms/{room}/versions"),
            &[("name", name)],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let versions = json(browser, &format!("/rooms/{room}/versions")).await;
    versions
        .as_array()
        .expect("a list")
        .iter()
        .find(|v| v["name"] == name)
        .and_then(|v| v["id"].as_i64())
        .expect("the saved version is listed")
}

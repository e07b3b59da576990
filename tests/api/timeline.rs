//! The time slider's steps (`/rooms/{name}/timeline`): one per stored edit while the log holds
//! them, from version to version where compaction folded them in.

use reqwest::StatusCode;

use crate::helpers::spawn_app_with;
use crate::history::{eventually, json, save_named, stored_text_is};
use crate::persistence::alice_with_room;
use crate::ws::WsClient;

#[tokio::test]
async fn the_time_slider_steps_through_each_stored_edit_with_its_author() {
    let app = spawn_app_with(|c| c.flush_interval_ms = 20).await;
    let alice = alice_with_room(&app).await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut a = WsClient::join(&app, &alice, "notes", 1).await;
    let mut b = WsClient::join(&app, &bob, "notes", 2).await;
    a.insert(0, "ab").await;
    stored_text_is(&alice, "notes", "ab").await;
    let start = save_named(&alice, "notes", "start").await;
    assert!(b.pump_until(|c| c.text() == "ab").await);
    b.insert(2, "c🦊").await;
    stored_text_is(&alice, "notes", "abc🦊").await;
    assert!(a.pump_until(|c| c.text() == "abc🦊").await);
    a.delete(0, 1).await;
    stored_text_is(&alice, "notes", "bc🦊").await;
    let end = save_named(&alice, "notes", "end").await;

    for path in [
        format!("/rooms/notes/timeline?from={start}&to={end}"),
        format!("/rooms/notes/timeline?from={start}"),
    ] {
        let timeline = json(&alice, &path).await;
        assert_eq!(timeline["text"], "ab");
        assert_eq!(timeline["complete"], true);
        let steps = timeline["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), 2, "one step per stored edit: {timeline}");
        assert_eq!(steps[0]["authors"], serde_json::json!(["bob"]));
        assert_eq!(
            steps[0]["ops"],
            serde_json::json!([{ "retain": 2 }, { "insert": "c🦊" }])
        );
        assert_eq!(steps[1]["authors"], serde_json::json!(["alice"]));
        assert_eq!(steps[1]["ops"], serde_json::json!([{ "delete": 1 }]));
    }
    let backwards = alice
        .get(&format!("/rooms/notes/timeline?from={end}&to={start}"))
        .await;
    assert_eq!(backwards.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn after_compaction_the_slider_steps_from_version_to_version() {
    let app = spawn_app_with(|c| {
        c.flush_interval_ms = 20;
        c.compact_after_updates = 2;
    })
    .await;
    let alice = alice_with_room(&app).await;
    let mut a = WsClient::join(&app, &alice, "notes", 1).await;
    a.insert(0, "one").await;
    stored_text_is(&alice, "notes", "one").await;
    let start = save_named(&alice, "notes", "start").await;
    let mut typed = "one".to_owned();
    for word in [" two", " three", " four"] {
        a.insert(typed.len() as u32, word).await;
        typed.push_str(word);
        stored_text_is(&alice, "notes", &typed).await;
    }
    eventually("the log is compacted", || async {
        app.count("SELECT COUNT(*) FROM doc_updates").await < 3
    })
    .await;
    let timeline = json(&alice, &format!("/rooms/notes/timeline?from={start}")).await;
    assert_eq!(timeline["complete"], false);
    let steps = timeline["steps"].as_array().expect("steps");
    assert_eq!(
        steps.last().expect("a step")["ops"],
        serde_json::json!([
            { "retain": 3 },
            { "insert": " two three four" }
        ])
    );
}

//! Editing and deleting chat messages: only by their author, seen live by everyone in the room,
//! in every history (the socket's, HTTP's, the export) and by clients that were away.

use chatspace_crdt::codec::{ChatMessage, ChatRejection};
use serde_json::Value;

use crate::chat::{alice_and_bob, raw_chat_frame};
use crate::helpers::{spawn_app, Browser};
use crate::ws::WsClient;

/// The messages of `GET /rooms/talk/messages` and of the export, as JSON.
async fn over_http(browser: &Browser) -> (Vec<Value>, Vec<Value>) {
    let mut lists = Vec::new();
    for path in ["/rooms/talk/messages", "/rooms/talk/messages/export"] {
        let body: Value = browser.get(path).await.json().await.unwrap();
        // The page wraps its list; the export is the list.
        let list = body.get("messages").unwrap_or(&body);
        lists.push(list.as_array().cloned().unwrap_or_default());
    }
    let export = lists.pop().unwrap_or_default();
    (lists.pop().unwrap_or_default(), export)
}

#[tokio::test]
async fn an_authors_edit_and_deletion_reach_everyone_live_and_the_deleted_text_is_gone() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let mut alice_tab = WsClient::join(&app, &alice_http, "talk", 2).await;
    let mut bob = WsClient::join(&app, &bob_http, "talk", 3).await;
    let first = alice.post("m-1", "helo").await;
    let second = alice.post("m-2", "secret plans").await;
    assert_eq!((first.edited_at.clone(), first.deleted), (None, false));

    alice.edit_chat(first.id, "hello @bob").await;
    assert!(alice.pump_until(|c| c.update_acks().len() == 1).await);
    let edited = alice.update_acks()[0].clone();
    assert_eq!(edited.text, "hello @bob");
    assert_eq!(edited.id, first.id);
    assert!(edited
        .edited_at
        .as_deref()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(edited.mentions, ["bob"], "bob may open the public room");
    assert!(
        edited.change > second.change,
        "a change takes the room's next counter"
    );
    for client in [&mut bob, &mut alice_tab] {
        assert!(client.pump_until(|c| c.updates().len() == 1).await);
        assert_eq!(
            client.updates()[0],
            &edited,
            "everyone, the author's other tab too"
        );
    }

    alice.delete_chat(second.id).await;
    assert!(alice.pump_until(|c| c.update_acks().len() == 2).await);
    let deleted = alice.update_acks()[1].clone();
    assert!(deleted.deleted);
    assert_eq!(deleted.text, "");
    assert!(deleted.edited_at.is_some(), "the time of the deletion");
    assert!(bob.pump_until(|c| c.updates().len() == 2).await);
    assert_eq!(bob.updates()[1], &deleted);
    assert!(
        alice.updates().is_empty(),
        "the sender gets the acknowledgement, not a second copy"
    );

    // Deleting again is acknowledged with the message as it is, and not broadcast again.
    alice.delete_chat(second.id).await;
    alice.send_chat("m-3", "after").await;
    assert!(alice.pump_until(|c| c.acks().len() == 3).await);
    assert_eq!(alice.update_acks().len(), 3);
    assert_eq!(alice.update_acks()[2], &deleted);
    assert!(bob.pump_until(|c| c.broadcasts().len() == 3).await);
    assert_eq!(
        bob.updates().len(),
        2,
        "no broadcast for a repeated deletion"
    );

    let stored = "SELECT COUNT(*) FROM messages WHERE text LIKE '%secret%'";
    assert_eq!(app.count(stored).await, 0, "the deleted text is erased");
    let marked = "SELECT COUNT(*) FROM messages WHERE deleted_at IS NOT NULL AND text = ''";
    assert_eq!(app.count(marked).await, 1);

    let (page, export) = over_http(&bob_http).await;
    for messages in [page, export] {
        let by_id = |id: i64| messages.iter().find(|m| m["id"] == id).cloned().unwrap();
        let (one, two) = (by_id(first.id), by_id(second.id));
        assert_eq!(one["text"], "hello @bob");
        assert_eq!(one["deleted"], false);
        assert_eq!(one["edited_at"], Value::from(edited.edited_at.clone()));
        assert_eq!(one["mentions"], serde_json::json!(["bob"]));
        assert_eq!(
            (two["text"].as_str(), two["deleted"].as_bool()),
            (Some(""), Some(true))
        );
        let after = messages.iter().find(|m| m["client_id"] == "m-3").unwrap();
        assert!(after["edited_at"].is_null(), "never changed: null");
    }
}

#[tokio::test]
async fn only_the_author_changes_a_message_and_refusals_keep_the_socket_open() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    bob_http.create_room("other").await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    let mut elsewhere = WsClient::join(&app, &bob_http, "other", 3).await;
    let hers = alice.post("a-1", "alice's words").await;
    let gone = alice.post("a-2", "soon gone").await;
    let in_other_room = elsewhere.post("o-1", "bob elsewhere").await;
    alice.delete_chat(gone.id).await;
    assert!(alice.pump_until(|c| c.update_acks().len() == 1).await);

    bob.edit_chat(hers.id, "bob's words").await;
    bob.delete_chat(hers.id).await;
    bob.edit_chat(9_999, "no such message").await;
    bob.delete_chat(in_other_room.id).await;
    alice.edit_chat(gone.id, "back again").await;
    alice.edit_chat(hers.id, "   ").await;
    alice.edit_chat(hers.id, &"x".repeat(4001)).await;
    alice
        .send(raw_chat_frame(&format!(
            r#"{{"type":"edit","id":{},"text":"cut \ud83d"}}"#,
            hers.id
        )))
        .await;
    let refused = |n| move |c: &WsClient| c.change_rejections().len() == n;
    assert!(bob.pump_until(refused(4)).await);
    assert!(alice.pump_until(refused(4)).await);
    assert_eq!(
        bob.change_rejections(),
        [
            (hers.id, ChatRejection::NotYours),
            (hers.id, ChatRejection::NotYours),
            (9_999, ChatRejection::NotFound),
            (in_other_room.id, ChatRejection::NotFound),
        ]
    );
    // A text that does not decode is refused as it arrives, the others once the writer gets
    // to them: the order may differ.
    let mut refusals = alice.change_rejections();
    refusals.sort_by_key(|(id, reason)| (*id, format!("{reason:?}")));
    let mut want = vec![
        (gone.id, ChatRejection::Deleted),
        (hers.id, ChatRejection::Empty),
        (hers.id, ChatRejection::TooLong),
        (hers.id, ChatRejection::InvalidText),
    ];
    want.sort_by_key(|(id, reason)| (*id, format!("{reason:?}")));
    assert_eq!(refusals, want);

    // Both sockets still work, and nothing of the refused changes reached anyone.
    bob.send_chat("b-1", "still here").await;
    assert!(alice.pump_until(|c| c.broadcasts().len() == 1).await);
    assert!(alice.closed.is_none() && bob.closed.is_none());
    assert_eq!(bob.updates().len(), 1, "only alice's own deletion");
    let (page, _) = over_http(&bob_http).await;
    assert_eq!(page[0]["text"], "alice's words");
    assert_eq!(page[0]["edited_at"], Value::Null);
}

#[tokio::test]
async fn a_viewer_may_not_change_a_message_not_even_one_it_wrote_as_an_editor() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    alice_http.assign_role("talk", "bob", "editor").await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    let his = bob.post("b-1", "written as an editor").await;
    alice_http.assign_role("talk", "bob", "viewer").await;
    assert!(
        bob.pump_until(|c| c.role.as_deref() == Some("viewer"))
            .await
    );

    bob.edit_chat(his.id, "changed as a viewer").await;
    bob.delete_chat(his.id).await;
    assert!(bob.pump_until(|c| c.change_rejections().len() == 2).await);
    assert_eq!(
        bob.change_rejections(),
        [
            (his.id, ChatRejection::Forbidden),
            (his.id, ChatRejection::Forbidden)
        ]
    );
    alice.roundtrip().await;
    assert!(alice.updates().is_empty());
    let (page, _) = over_http(&alice_http).await;
    assert_eq!(page[0]["text"], "written as an editor");
    assert_eq!(page[0]["deleted"], false);
}

#[tokio::test]
async fn a_client_that_was_away_catches_up_on_edits_and_deletions_by_change_counter() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let one = alice.post("a-1", "one").await;
    let two = alice.post("a-2", "two: private detail").await;
    let three = alice.post("a-3", "three").await;
    // Bob saw everything up to here, then went away.
    let (seen_id, seen_change) = (three.id, three.change);

    alice.edit_chat(one.id, "one, corrected").await;
    alice.delete_chat(two.id).await;
    let four = alice.post("a-4", "four").await;
    assert_eq!(alice.update_acks().len(), 2);

    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    bob.ask_changes_since(seen_id, seen_change).await;
    assert!(bob.pump_until(|c| !c.history().is_empty()).await);
    let caught: Vec<(i64, &str, bool)> = bob
        .history()
        .iter()
        .map(|m| (m.id, m.text.as_str(), m.deleted))
        .collect();
    assert_eq!(
        caught,
        [
            (one.id, "one, corrected", false),
            (two.id, "", true),
            (four.id, "four", false),
        ],
        "in the order of the changes; the deleted text is not sent"
    );
    let changes: Vec<i64> = bob.history().iter().map(|m| m.change).collect();
    assert!(changes.windows(2).all(|w| w[0] < w[1]), "{changes:?}");

    // An older client asking by id only still gets the new message, now with its state.
    let mut old = WsClient::join(&app, &bob_http, "talk", 3).await;
    old.ask_since(seen_id).await;
    assert!(old.pump_until(|c| !c.chat.is_empty()).await);
    let ids: Vec<i64> = old.history().iter().map(|m| m.id).collect();
    assert_eq!(ids, [four.id]);
}

#[tokio::test]
async fn mentions_name_only_people_who_may_open_the_room_and_follow_edits() {
    let app = spawn_app().await;
    let alice_http = app.browser();
    alice_http.register("alice").await;
    alice_http.create_private_room("den").await;
    let bob_http = app.browser();
    bob_http.register("Bob.B").await;
    let carol_http = app.browser();
    carol_http.register("carol").await;
    alice_http.assign_role("den", "carol", "editor").await;
    let mut alice = WsClient::join(&app, &alice_http, "den", 1).await;
    let mut carol = WsClient::join(&app, &carol_http, "den", 2).await;

    let sent = alice
        .post(
            "m-1",
            "@CAROL and @bob.b. and mail@carol.org @nobody @alice",
        )
        .await;
    let names = |m: &ChatMessage| m.mentions.clone();
    assert_eq!(
        names(&sent),
        ["carol", "alice"],
        "in the text's order; bob is not a member of den"
    );
    assert!(carol.pump_until(|c| c.broadcasts().len() == 1).await);
    assert_eq!(names(carol.broadcasts()[0]), ["carol", "alice"]);

    alice_http.assign_role("den", "Bob.B", "viewer").await;
    alice.edit_chat(sent.id, "now @bob.b. only").await;
    assert!(carol.pump_until(|c| c.updates().len() == 1).await);
    assert_eq!(
        names(carol.updates()[0]),
        ["Bob.B"],
        "spelled as at sign-up"
    );
    alice.delete_chat(sent.id).await;
    assert!(carol.pump_until(|c| c.updates().len() == 2).await);
    assert!(names(carol.updates()[1]).is_empty());
}

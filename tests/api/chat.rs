//! Chat on the room socket and its history over HTTP.

use chatspace_crdt::codec::{ChatEvent, ChatRejection};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, Browser, TestApp};
use crate::ws::WsClient;

/// Alice owns the public room `talk`; Bob has an account.
pub async fn alice_and_bob(app: &TestApp) -> (Browser, Browser) {
    let alice = app.browser();
    alice.register_with_room("alice", "talk").await;
    let bob = app.browser();
    bob.register("bob").await;
    (alice, bob)
}

#[tokio::test]
async fn a_chat_message_is_acknowledged_to_the_sender_and_broadcast_with_its_author() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    alice.send_chat("m-1", "hello <b>bob</b>").await;
    assert!(alice.pump_until(|c| !c.acks().is_empty()).await);
    assert!(bob.pump_until(|c| !c.broadcasts().is_empty()).await);
    let ack = alice.acks()[0].clone();
    let seen = bob.broadcasts()[0].clone();
    assert_eq!(ack, seen);
    assert_eq!(seen.author, "alice", "the author comes from the session");
    assert_eq!(seen.text, "hello <b>bob</b>", "text is kept as sent");
    assert_eq!(seen.client_id, "m-1");
    assert!(
        seen.sent_at.ends_with('Z') && seen.sent_at.len() == 24,
        "{}",
        seen.sent_at
    );
    assert!(
        alice.broadcasts().is_empty(),
        "the sender gets the ack, not a second copy"
    );
}

#[tokio::test]
async fn the_same_client_id_sent_twice_is_stored_and_broadcast_once() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    alice.send_chat("dup", "only once").await;
    alice.send_chat("dup", "only once").await;
    alice.send_chat("next", "second").await;
    assert!(alice.pump_until(|c| c.acks().len() == 3).await);
    assert!(bob.pump_until(|c| c.broadcasts().len() == 2).await);
    let acks = alice.acks();
    assert_eq!(
        acks[0], acks[1],
        "the resend is acknowledged with the stored message"
    );
    let texts: Vec<&str> = bob.broadcasts().iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["only once", "second"]);
    let pool = app.db().await;
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn empty_and_overlong_messages_are_rejected_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (alice_http, _) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    alice.send_chat("e", "   \n ").await;
    alice.send_chat("l", &"x".repeat(4001)).await;
    alice.send_chat("ok", &"é".repeat(4000)).await;
    assert!(alice.pump_until(|c| c.chat.len() == 3).await);
    let reasons: Vec<ChatRejection> = alice
        .chat
        .iter()
        .filter_map(|e| {
            if let ChatEvent::Rejected { reason, .. } = e {
                Some(*reason)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(reasons, [ChatRejection::Empty, ChatRejection::TooLong]);
    assert_eq!(alice.acks().len(), 1, "4,000 characters is allowed");
    assert!(alice.closed.is_none());
}

/// A chat frame carrying `json` as it is.
pub fn raw_chat_frame(json: &str) -> Vec<u8> {
    assert!(json.len() < 128, "one-byte length");
    let mut frame = vec![100, json.len() as u8];
    frame.extend_from_slice(json.as_bytes());
    frame
}

#[tokio::test]
async fn a_message_whose_text_is_a_broken_javascript_string_is_rejected_and_the_socket_stays() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    // What `JSON.stringify` makes of a string cut in the middle of an emoji, and a text that
    // is not a string at all.
    let broken = r#"{"type":"send","client_id":"s-1","text":"cut \ud83d"}"#;
    alice.send(raw_chat_frame(broken)).await;
    alice
        .send(raw_chat_frame(
            r#"{"type":"send","client_id":"s-2","text":7}"#,
        ))
        .await;
    alice.send_chat("s-3", "still here").await;
    assert!(alice.pump_until(|c| c.chat.len() == 3).await);
    let rejected: Vec<(&str, ChatRejection)> = alice
        .chat
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Rejected {
                client_id, reason, ..
            } => Some((client_id.as_str(), *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejected,
        [
            ("s-1", ChatRejection::InvalidText),
            ("s-2", ChatRejection::InvalidText)
        ]
    );
    assert_eq!(alice.acks().len(), 1, "the same socket goes on");
    assert!(alice.closed.is_none());
    assert!(bob.pump_until(|c| c.broadcasts().len() == 1).await);
    assert_eq!(
        bob.broadcasts()[0].text,
        "still here",
        "nothing else was stored"
    );
}

#[tokio::test]
async fn a_reconnecting_client_catches_up_on_what_it_missed() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    alice.send_chat("a1", "before").await;
    assert!(alice.pump_until(|c| c.acks().len() == 1).await);
    let last_seen = alice.acks()[0].id;
    alice.close().await;

    let mut bob = WsClient::join(&app, &bob_http, "talk", 2).await;
    for i in 0..3 {
        bob.send_chat(&format!("b{i}"), &format!("missed {i}"))
            .await;
    }
    assert!(bob.pump_until(|c| c.acks().len() == 3).await);

    let mut alice = WsClient::join(&app, &alice_http, "talk", 3).await;
    alice.ask_since(last_seen).await;
    assert!(alice.pump_until(|c| !c.chat.is_empty()).await);
    let ChatEvent::History { messages, more } = &alice.chat[0] else {
        panic!("{:?}", alice.chat)
    };
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["missed 0", "missed 1", "missed 2"]);
    assert!(!more);
}

#[tokio::test]
async fn history_pages_back_over_http() {
    let app = spawn_app().await;
    let (alice_http, _) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    for i in 0..25 {
        alice
            .send_chat(&format!("c{i}"), &format!("message {i}"))
            .await;
    }
    assert!(alice.pump_until(|c| c.acks().len() == 25).await);

    let page: Value = alice_http
        .get("/rooms/talk/messages?limit=10")
        .await
        .json()
        .await
        .unwrap();
    let texts = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&page).first().unwrap(), "message 15");
    assert_eq!(texts(&page).last().unwrap(), "message 24");
    assert_eq!(page["more"], true);
    let oldest = page["messages"][0]["id"].as_i64().unwrap();
    let older: Value = alice_http
        .get(&format!("/rooms/talk/messages?limit=10&before={oldest}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        texts(&older),
        (5..15).map(|i| format!("message {i}")).collect::<Vec<_>>()
    );
    let oldest = older["messages"][0]["id"].as_i64().unwrap();
    let rest: Value = alice_http
        .get(&format!("/rooms/talk/messages?before={oldest}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(texts(&rest).len(), 5);
    assert_eq!(rest["more"], false);
    assert_eq!(rest["messages"][0]["author"], "alice");

    assert_eq!(
        app.browser().get("/rooms/talk/messages").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        alice_http.get("/rooms/nowhere/messages").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_catch_up_the_database_cannot_answer_closes_the_socket_to_try_again() {
    let app = crate::helpers::spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let mut client = crate::ws::WsClient::join(&app, &alice, "notes", 1).await;
    // An operator's mistake: the chat table is gone for a moment.
    let pool = app.db().await;
    sqlx::query("ALTER TABLE messages RENAME TO messages_away")
        .execute(&pool)
        .await
        .expect("renames");
    client.ask_since(0).await;
    assert!(client.pump_until(|c| c.closed.is_some()).await);
    assert_eq!(
        client.closed,
        Some(Some(1013)),
        "no history answer that would claim what it cannot: reconnect and ask again"
    );
    sqlx::query("ALTER TABLE messages_away RENAME TO messages")
        .execute(&pool)
        .await
        .expect("renames back");
    pool.close().await;
    let mut again = crate::ws::WsClient::join(&app, &alice, "notes", 2).await;
    again.send_chat("m1", "after the repair").await;
    assert!(again.pump_until(|c| !c.acks().is_empty()).await);
}

//! Anchored comments: a chat `send` with an `anchor` (two Yjs relative positions of the room's
//! text and the quoted passage), checked by the server, stored, and returned in every message
//! object.

use chatspace_crdt::codec::client::chat_request_frame;
use chatspace_crdt::codec::{ChatAnchor, ChatEvent, ChatRejection, ChatRequest};
use chatspace_crdt::TEXT_NAME;
use serde_json::Value;
use yrs::updates::encoder::Encode;
use yrs::{Assoc, IndexedSequence, Transact};

use crate::chat::alice_and_bob;
use crate::helpers::{spawn_app, Browser, TestApp};
use crate::ws::WsClient;

/// The anchor of `from..to` in `client`'s copy of the text, as the room page makes it: the
/// start sticks to the first character of the passage, the end to its last.
fn anchor_of(client: &WsClient, from: u32, to: u32, quote: &str) -> ChatAnchor {
    let text = client.doc.get_or_insert_text(TEXT_NAME);
    let txn = client.doc.transact();
    let start = text.sticky_index(&txn, from, Assoc::After).expect("start");
    let end = text.sticky_index(&txn, to, Assoc::Before).expect("end");
    ChatAnchor::from_stored(&start.encode_v1(), &end.encode_v1(), quote)
}

fn comment(client_id: &str, text: &str, anchor: Option<ChatAnchor>) -> Vec<u8> {
    chat_request_frame(&ChatRequest::Send {
        client_id: client_id.into(),
        text: text.into(),
        anchor,
    })
}

/// The `rejected` events a client received, in order.
fn rejections(client: &WsClient) -> Vec<(&str, ChatRejection)> {
    client
        .chat
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Rejected {
                client_id, reason, ..
            } => Some((client_id.as_str(), *reason)),
            _ => None,
        })
        .collect()
}

/// Alice and Bob on the socket of Alice's room `talk`, where Alice typed `text`; Bob's HTTP
/// client too.
async fn talk_with_text(app: &TestApp, text: &str) -> (Browser, WsClient, WsClient) {
    let (alice_http, bob_http) = alice_and_bob(app).await;
    let mut alice = WsClient::join(app, &alice_http, "talk", 1).await;
    let bob = WsClient::join(app, &bob_http, "talk", 2).await;
    alice.insert(0, text).await;
    (bob_http, alice, bob)
}

#[tokio::test]
async fn an_anchored_comment_is_stored_and_comes_back_with_its_anchor_everywhere() {
    let app = spawn_app().await;
    let (bob_http, mut alice, mut bob) = talk_with_text(&app, "The quick brown fox").await;
    let anchor = anchor_of(&alice, 4, 9, "quick");
    alice
        .send(comment("c-1", "why quick?", Some(anchor.clone())))
        .await;
    alice.send_chat("c-2", "a plain one").await;
    assert!(alice.pump_until(|c| c.acks().len() == 2).await);
    assert!(bob.pump_until(|c| c.broadcasts().len() == 2).await);
    assert_eq!(alice.acks()[0].anchor.as_ref(), Some(&anchor), "the ack");
    assert_eq!(bob.broadcasts()[0].anchor.as_ref(), Some(&anchor), "live");
    assert_eq!(alice.acks()[1].anchor, None);

    // A resend of the same client id is acknowledged with what was stored the first time.
    alice
        .send(comment("c-1", "why quick?", Some(anchor.clone())))
        .await;
    assert!(alice.pump_until(|c| c.acks().len() == 3).await);
    assert_eq!(alice.acks()[2], alice.acks()[0]);

    bob.ask_since(0).await;
    assert!(
        bob.pump_until(|c| c
            .chat
            .iter()
            .any(|e| matches!(e, ChatEvent::History { .. })))
            .await
    );
    let Some(ChatEvent::History { messages, .. }) = bob.chat.last() else {
        panic!("{:?}", bob.chat)
    };
    assert_eq!(messages[0].anchor.as_ref(), Some(&anchor), "history");

    let json = serde_json::to_value(&anchor).unwrap();
    let page: Value = bob_http
        .get("/rooms/talk/messages")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"][0]["anchor"], json, "GET messages");
    assert_eq!(page["messages"][0]["anchor"]["quote"], "quick");
    assert!(
        page["messages"][1].get("anchor").is_none(),
        "a plain message has no anchor: {}",
        page["messages"][1]
    );
    let export: Value = bob_http
        .get("/rooms/talk/messages/export")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export[0]["anchor"], json, "the chat export");
}

#[tokio::test]
async fn an_anchor_that_is_not_two_positions_of_the_rooms_text_is_rejected_and_the_socket_stays() {
    let app = spawn_app().await;
    let (_, mut alice, mut bob) = talk_with_text(&app, "hello world").await;
    let good = anchor_of(&alice, 0, 5, "hello");
    let with = |change: &dyn Fn(&mut ChatAnchor)| {
        let mut anchor = good.clone();
        change(&mut anchor);
        Some(anchor)
    };
    // An item of a client that never wrote in this room.
    let foreign = ChatAnchor::from_stored(&[0, 99, 0, 0], &[0, 99, 0, 0], "x");
    let cases = [
        ("not-base64", with(&|a| a.start = "%%%".into())),
        (
            "no-padding",
            with(&|a| a.end = a.end.trim_end_matches('=').into()),
        ),
        ("empty-quote", with(&|a| a.quote = String::new())),
        ("long-quote", with(&|a| a.quote = "q".repeat(301))),
        ("too-long", with(&|a| a.start = "A".repeat(100))),
        (
            "nested",
            Some(ChatAnchor::from_stored(&[2, 1, 0, 0], &[2, 1, 0, 0], "x")),
        ),
        (
            "other-root",
            Some(ChatAnchor::from_stored(
                &[1, 1, b'x', 0],
                &[1, 1, b'x', 0],
                "x",
            )),
        ),
        ("unknown-item", Some(foreign)),
    ];
    for (id, anchor) in cases {
        alice.send(comment(id, "a comment", anchor)).await;
    }
    // Not an object of three strings at all: attributable, so refused the same way.
    let raw = r#"{"type":"send","client_id":"not-object","text":"t","anchor":5}"#;
    let mut frame = vec![100, raw.len() as u8];
    frame.extend_from_slice(raw.as_bytes());
    alice.send(frame).await;
    alice
        .send(comment("ok", "a comment", Some(good.clone())))
        .await;
    assert!(alice.pump_until(|c| c.acks().len() == 1).await);
    let refused: Vec<&str> = rejections(&alice)
        .into_iter()
        .map(|(id, reason)| {
            assert_eq!(reason, ChatRejection::InvalidAnchor, "{id}");
            id
        })
        .collect();
    assert_eq!(
        refused,
        [
            "not-base64",
            "no-padding",
            "empty-quote",
            "long-quote",
            "too-long",
            "nested",
            "other-root",
            "unknown-item",
            "not-object"
        ]
    );
    assert!(alice.closed.is_none(), "the socket stays open");
    assert_eq!(alice.acks()[0].anchor.as_ref(), Some(&good));
    assert!(bob.pump_until(|c| !c.broadcasts().is_empty()).await);
    assert_eq!(bob.broadcasts().len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages").await,
        1,
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn a_comment_on_text_typed_just_before_it_on_the_same_socket_is_accepted() {
    let app = spawn_app().await;
    let (alice_http, _) = alice_and_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "talk", 1).await;
    // No wait between the edit and the comment: the room applies the edit first.
    alice.insert(0, "fresh text").await;
    let anchor = anchor_of(&alice, 0, 5, "fresh");
    alice.send(comment("c", "on it", Some(anchor))).await;
    assert!(alice.pump_until(|c| !c.chat.is_empty()).await);
    assert_eq!(rejections(&alice), []);
    assert_eq!(alice.acks().len(), 1);
}

#[tokio::test]
async fn deleting_a_comment_erases_its_quoted_passage_too() {
    let app = spawn_app().await;
    let (bob_http, mut alice, mut bob) = talk_with_text(&app, "the secret plan").await;
    let anchor = anchor_of(&alice, 4, 10, "secret");
    alice
        .send(comment("c-1", "not here", Some(anchor.clone())))
        .await;
    assert!(alice.pump_until(|c| c.acks().len() == 1).await);
    let id = alice.acks()[0].id;

    alice.delete_chat(id).await;
    assert!(alice.pump_until(|c| c.update_acks().len() == 1).await);
    assert_eq!(alice.update_acks()[0].anchor, None, "the acknowledgement");
    assert!(bob.pump_until(|c| c.updates().len() == 1).await);
    assert_eq!(bob.updates()[0].anchor, None, "live");
    let page: Value = bob_http
        .get("/rooms/talk/messages")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"][0]["deleted"], true);
    assert!(
        page["messages"][0].get("anchor").is_none(),
        "the quote is the author's words: {}",
        page["messages"][0]
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM messages WHERE anchor_quote IS NOT NULL \
             OR anchor_start IS NOT NULL OR text <> ''"
        )
        .await,
        0,
        "nothing of the comment is left in the database"
    );
}

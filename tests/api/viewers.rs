//! A viewer on the socket: it sees the document, the others' presence and the chat live, and
//! the server, not its client, keeps it from changing anything.

use chatspace_crdt::codec::{sync_step2_frame, ChatEvent, ChatRejection};
use reqwest::StatusCode;
use yrs::{ReadTxn, StateVector, Transact};

use crate::helpers::{spawn_app, Browser, TestApp};
use crate::ws::WsClient;

/// Alice owns the public room `notes`; Bob is its viewer.
async fn alice_and_viewer_bob(app: &TestApp) -> (Browser, Browser) {
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let bob = app.browser();
    assert_eq!(bob.register("bob").await.status(), StatusCode::SEE_OTHER);
    alice.assign_role("notes", "bob", "viewer").await;
    (alice, bob)
}

#[tokio::test]
async fn a_viewers_edits_are_not_applied_relayed_or_stored_and_it_is_told_once() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_viewer_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "notes", 1).await;
    alice.insert(0, "hello").await;
    let mut bob = WsClient::join(&app, &bob_http, "notes", 2).await;
    assert_eq!(alice.role.as_deref(), Some("owner"));
    assert_eq!(bob.role.as_deref(), Some("viewer"));
    assert!(
        bob.pump_until(|c| c.text() == "hello").await,
        "a viewer sees the document"
    );

    // Edits made in its own document anyway: as updates, and as a step 2 of everything.
    bob.insert(5, " from bob").await;
    bob.insert(0, ">").await;
    let everything = bob
        .doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    bob.send(sync_step2_frame(&everything)).await;
    bob.roundtrip().await;
    assert_eq!(bob.denied.len(), 1, "told once: {:?}", bob.denied);
    assert!(bob.denied[0].contains("read-only"), "{:?}", bob.denied);
    assert_eq!(bob.closed, None, "the socket stays open");

    // Alice goes on editing; she never received anything of Bob's.
    alice.insert(5, "!").await;
    alice.roundtrip().await;
    assert_eq!(alice.text(), "hello!");
    assert_eq!(alice.updates_received, 0);
    assert!(
        bob.pump_until(|c| c.updates_received == 1).await,
        "the viewer still sees edits live"
    );

    // Nothing of Bob's was stored.
    drop((alice, bob));
    let app = app.restart().await;
    let fresh = WsClient::join(&app, &alice_http, "notes", 3).await;
    assert_eq!(fresh.text(), "hello!");
}

#[tokio::test]
async fn a_viewers_presence_is_shown_for_one_client_id() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_viewer_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "notes", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "notes", 2).await;
    let state = r##"{"user":{"name":"someone","color":"#123456"},"cursor":null}"##;
    bob.send_awareness(&[(20, 1, Some(state)), (21, 1, Some(state))])
        .await;
    bob.send_awareness(&[(22, 1, Some(state))]).await;
    bob.send_awareness(&[(20, 2, Some(state))]).await;
    bob.roundtrip().await;
    let shown: Vec<(u64, u64)> = alice
        .query_awareness()
        .await
        .iter()
        .filter(|e| e.state.is_some())
        .map(|e| (e.client_id.get(), e.clock))
        .collect();
    assert_eq!(shown, [(20, 2)], "one id, kept up to date");
    assert!(
        alice.presence[&20].contains(r#""name":"bob""#),
        "{:?}",
        alice.presence
    );
}

#[tokio::test]
async fn a_viewers_chat_is_refused_but_it_reads_the_chat() {
    let app = spawn_app().await;
    let (alice_http, bob_http) = alice_and_viewer_bob(&app).await;
    let mut alice = WsClient::join(&app, &alice_http, "notes", 1).await;
    let mut bob = WsClient::join(&app, &bob_http, "notes", 2).await;
    bob.send_chat("b-1", "let me in").await;
    assert!(bob.pump_until(|c| !c.chat.is_empty()).await);
    assert_eq!(
        bob.chat[0],
        ChatEvent::Rejected {
            client_id: "b-1".to_owned(),
            id: None,
            reason: ChatRejection::Forbidden
        }
    );
    alice.send_chat("a-1", "welcome").await;
    assert!(bob.pump_until(|c| c.broadcasts().len() == 1).await);
    bob.ask_since(0).await;
    let history = |c: &WsClient| {
        c.chat.iter().find_map(|e| match e {
            ChatEvent::History { messages, .. } => Some(messages.len()),
            _ => None,
        })
    };
    assert!(bob.pump_until(|c| history(c).is_some()).await);
    assert_eq!(history(&bob), Some(1), "only Alice's message exists");
    alice.roundtrip().await;
    assert!(
        alice.broadcasts().is_empty(),
        "nothing of Bob's reached Alice"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
}

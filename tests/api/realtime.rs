//! The document over real sockets: convergence, late joiners, offline edits, awareness.

use yrs::{Doc, Text, Transact};

use crate::helpers::{spawn_app, Browser, TestApp};
use crate::ws::WsClient;

/// Signs up `names`; the first one creates the (public) room `doc`.
pub async fn room_with_users(app: &TestApp, names: &[&str]) -> Vec<Browser> {
    let mut browsers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let b = app.browser();
        if i == 0 {
            b.register_with_room(name, "doc").await;
        } else {
            b.register(name).await;
        }
        browsers.push(b);
    }
    browsers
}

#[tokio::test]
async fn concurrent_edits_from_several_clients_converge() {
    let app = spawn_app().await;
    let users = room_with_users(&app, &["alice", "bob", "carol"]).await;
    let mut clients = Vec::new();
    for (i, user) in users.iter().enumerate() {
        clients.push(WsClient::join(&app, user, "doc", 100 + i as u64).await);
    }
    // Everyone types at the start of the document at once, without waiting for the others.
    for round in 0..5 {
        for (i, client) in clients.iter_mut().enumerate() {
            client.insert(0, &format!("[{i}.{round}]")).await;
        }
    }
    let expected_len = 3 * 5 * 5;
    for client in &mut clients {
        assert!(
            client.pump_until(|c| c.text_len() == expected_len).await,
            "got {:?}",
            client.text()
        );
    }
    let first = clients[0].text();
    for client in &clients {
        assert_eq!(client.text(), first, "every client holds the same text");
    }
    for i in 0..3 {
        for round in 0..5 {
            assert!(first.contains(&format!("[{i}.{round}]")), "{first}");
        }
    }
}

#[tokio::test]
async fn a_late_joiner_gets_the_whole_document() {
    let app = spawn_app().await;
    let users = room_with_users(&app, &["alice", "bob"]).await;
    let mut alice = WsClient::join(&app, &users[0], "doc", 1).await;
    alice.insert(0, "hello world").await;
    alice.delete(0, 6).await;
    alice.insert(5, "!").await;
    alice.roundtrip().await;
    let bob = WsClient::join(&app, &users[1], "doc", 2).await;
    assert_eq!(bob.text(), "world!");
}

#[tokio::test]
async fn a_client_that_edited_offline_converges_after_reconnecting() {
    let app = spawn_app().await;
    let users = room_with_users(&app, &["alice", "bob"]).await;
    let mut alice = WsClient::join(&app, &users[0], "doc", 1).await;
    alice.insert(0, "shared line\n").await;
    alice.roundtrip().await;
    let bob = WsClient::join(&app, &users[1], "doc", 2).await;
    assert_eq!(bob.text(), "shared line\n");

    // Bob loses the network and keeps typing; Alice edits meanwhile.
    let bob_doc: Doc = bob.drop_connection();
    {
        let text = bob_doc.get_or_insert_text("colabspace");
        let mut txn = bob_doc.transact_mut();
        text.insert(&mut txn, 12, "bob offline\n");
    }
    alice.insert(0, "alice online\n").await;
    alice.roundtrip().await;

    let mut bob = WsClient::join_with_doc(&app, &users[1], "doc", bob_doc).await;
    let want = "alice online\nshared line\nbob offline\n";
    assert!(
        bob.pump_until(|c| c.text() == want).await,
        "bob: {:?}",
        bob.text()
    );
    assert!(
        alice.pump_until(|c| c.text() == want).await,
        "alice: {:?}",
        alice.text()
    );
    let late = WsClient::join(&app, &users[0], "doc", 3).await;
    assert_eq!(late.text(), want, "the server holds the merged text");
}

#[tokio::test]
async fn awareness_is_relayed_and_removed_when_a_socket_closes() {
    use chatspace_crdt::codec::{awareness_frame, AwarenessEntry, AwarenessUpdate};
    use chatspace_crdt::ClientID;
    let app = spawn_app().await;
    let users = room_with_users(&app, &["alice", "bob"]).await;
    let mut alice = WsClient::join(&app, &users[0], "doc", 1).await;
    let mut bob = WsClient::join(&app, &users[1], "doc", 2).await;
    let entry = AwarenessEntry {
        client_id: ClientID::new(2),
        clock: 1,
        state: Some(r#"{"user":{"name":"bob"}}"#.to_owned()),
    };
    let update = AwarenessUpdate {
        entries: vec![entry],
    };
    bob.send(awareness_frame(&update)).await;
    assert!(
        alice.pump_until(|c| c.awareness_frames >= 1).await,
        "alice sees bob's presence"
    );
    let seen = alice.awareness_frames;
    bob.close().await;
    assert!(
        alice.pump_until(|c| c.awareness_frames > seen).await,
        "alice is told bob left"
    );
    // A newcomer is greeted with no state for bob.
    let carol = WsClient::join(&app, &users[0], "doc", 3).await;
    assert_eq!(carol.awareness_frames, 0, "bob's state is gone");
}

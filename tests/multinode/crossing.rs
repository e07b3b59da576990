//! Clients of one room on different nodes: edits, chat, presence and sign-in cross between
//! nodes, and a room whose log several nodes append to and compact keeps every edit.

use crate::cluster::{redis_url, Cluster};
use crate::helpers::TestApp;
use crate::ws::WsClient;

/// Waits until every client's text equals the others' and has `len` characters.
async fn converge(clients: &mut [&mut WsClient], len: u32) -> String {
    for client in clients.iter_mut() {
        assert!(
            client.pump_until(|c| c.text_len() == len).await,
            "a client reached {len} characters (has {:?})",
            client.text()
        );
    }
    let text = clients[0].text();
    assert!(
        clients.iter().all(|c| c.text() == text),
        "every node's client has the same text"
    );
    text
}

#[tokio::test]
async fn edits_chat_and_presence_on_one_node_reach_clients_on_the_others() {
    let cluster = Cluster::start(3, |_| {}).await;
    let [a, b, c] = &cluster.nodes[..] else {
        panic!("three nodes");
    };
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let bob = b.browser();
    bob.register("bob").await;
    let carol = c.browser();
    carol.register("carol").await;
    let mut on_a = WsClient::join(a, &alice, "notes", 1).await;
    let mut on_b = WsClient::join(b, &bob, "notes", 2).await;
    let mut on_c = WsClient::join(c, &carol, "notes", 3).await;

    on_a.insert(0, "hello").await;
    assert!(
        on_b.pump_until(|x| x.text() == "hello").await,
        "a's edit reached b"
    );
    assert!(
        on_c.pump_until(|x| x.text() == "hello").await,
        "a's edit reached c"
    );

    // At the same moment on every node: they converge.
    on_a.insert(5, " world").await;
    on_b.insert(0, "B").await;
    on_c.insert(0, "C").await;
    let text = converge(&mut [&mut on_a, &mut on_b, &mut on_c], 13).await;
    assert!(text.contains("hello world"), "{text}");

    on_b.send_chat("m1", "hi from b").await;
    for client in [&mut on_a, &mut on_c] {
        assert!(
            client
                .pump_until(|x| x
                    .broadcasts()
                    .iter()
                    .any(|m| m.text == "hi from b" && m.author == "bob"))
                .await,
            "b's chat message reached the other nodes' clients"
        );
    }

    on_c.send_awareness(&[(3, 1, Some(r#"{"user":{"name":"carol"}}"#))])
        .await;
    assert!(
        on_a.pump_until(|x| x.presence.get(&3).is_some_and(|s| s.contains("carol")))
            .await,
        "c's presence reached a"
    );
    let late = alice.clone_on(b);
    let mut joined_later = WsClient::join(b, &late, "notes", 4).await;
    assert_eq!(
        joined_later.text(),
        text,
        "a client joining b later gets everything"
    );
    assert!(
        joined_later
            .pump_until(|x| x.presence.contains_key(&3))
            .await,
        "and sees who is present on the other nodes"
    );
}

#[tokio::test]
async fn a_cookie_issued_by_one_node_is_valid_on_every_node() {
    let cluster = Cluster::start(2, |_| {}).await;
    let alice = cluster.nodes[0].browser();
    alice.register("alice").await;
    let elsewhere = alice.clone_on(&cluster.nodes[1]);
    let page = elsewhere.get_text("/").await;
    assert!(
        page.contains("Signed in as"),
        "the other node knows the session"
    );
    elsewhere.logout().await;
    let page = alice.get_text("/").await;
    assert!(
        !page.contains("Signed in as"),
        "signing out on one node ends it on all"
    );
}

#[tokio::test]
async fn a_room_that_several_nodes_append_to_and_compact_keeps_every_edit() {
    let mut cluster = Cluster::start(2, |config| {
        config.compact_after_updates = 5;
        config.flush_interval_ms = 10;
    })
    .await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let mut on_a = WsClient::join(a, &alice, "notes", 1).await;
    let mut on_b = WsClient::join(b, &alice.clone_on(b), "notes", 2).await;
    let mut typed = 0;
    for round in 0..20 {
        let (writer, reader) = match round % 2 {
            0 => (&mut on_a, &mut on_b),
            _ => (&mut on_b, &mut on_a),
        };
        writer
            .insert(0, if round % 2 == 0 { "a" } else { "b" })
            .await;
        typed += 1;
        assert!(
            reader.pump_until(|x| x.text_len() == typed).await,
            "relayed"
        );
    }
    let text = converge(&mut [&mut on_a, &mut on_b], typed).await;
    drop((on_a, on_b));
    for node in &mut cluster.nodes {
        node.stop().await;
    }
    assert!(
        cluster.nodes[0]
            .count("SELECT COUNT(*) FROM doc_snapshots")
            .await
            == 1,
        "the log was compacted"
    );
    assert_eq!(
        cluster.nodes[0]
            .count("SELECT COUNT(*) FROM doc_quarantine")
            .await,
        0,
        "no entry was set aside"
    );
    let fresh: TestApp = cluster.node(&redis_url(), &|_| {}).await;
    let reader = WsClient::join(&fresh, &alice.clone_on(&fresh), "notes", 3).await;
    assert_eq!(
        reader.text(),
        text,
        "a node loading the room from the database gets every edit"
    );
}

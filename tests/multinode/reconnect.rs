//! Clients moving between nodes: a client that was offline comes back through another node,
//! and chat sent through one node reaches the others once each, in the order it was stored.

use yrs::{Text, Transact};

use crate::cluster::Cluster;
use crate::ws::WsClient;

#[tokio::test]
async fn a_client_offline_on_one_node_comes_back_through_another_and_both_sides_converge() {
    let cluster = Cluster::start(2, |_| {}).await;
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let mut stays = WsClient::join(a, &alice, "notes", 1).await;
    let mut travels = WsClient::join(a, &alice, "notes", 2).await;
    stays.insert(0, "shared ").await;
    assert!(travels.pump_until(|x| x.text() == "shared ").await);

    // The network goes; both go on typing.
    let doc = travels.drop_connection();
    {
        let text = doc.get_or_insert_text(chatspace_crdt::TEXT_NAME);
        text.insert(&mut doc.transact_mut(), 7, "offline");
    }
    stays.insert(0, "online ").await;
    stays.roundtrip().await;

    // It comes back through the other node.
    let mut back = WsClient::join_with_doc(b, &alice.clone_on(b), "notes", doc).await;
    let expected = "online shared offline";
    assert!(
        back.pump_until(|x| x.text() == expected).await,
        "the returning client has both sides: {:?}",
        back.text()
    );
    assert!(
        stays.pump_until(|x| x.text() == expected).await,
        "and the client that stayed got the offline edit through the other node: {:?}",
        stays.text()
    );
}

#[tokio::test]
async fn chat_sent_through_one_node_reaches_the_others_once_each_in_id_order() {
    let cluster = Cluster::start(3, |_| {}).await;
    let alice = cluster.nodes[0].browser();
    alice.register_with_room("alice", "notes").await;
    let mut sender = WsClient::join(&cluster.nodes[0], &alice, "notes", 1).await;
    let mut readers = Vec::new();
    for (i, node) in cluster.nodes.iter().enumerate().skip(1) {
        readers.push(WsClient::join(node, &alice.clone_on(node), "notes", 10 + i as u64).await);
    }
    // Sent back to back, without waiting for the acknowledgements.
    for n in 0..8 {
        sender
            .send_chat(&format!("m{n}"), &format!("message {n}"))
            .await;
    }
    assert!(
        sender.pump_until(|x| x.acks().len() == 8).await,
        "all stored"
    );
    for reader in &mut readers {
        assert!(
            reader.pump_until(|x| x.broadcasts().len() >= 8).await,
            "every message reached the other node"
        );
        let texts: Vec<String> = reader.broadcasts().iter().map(|m| m.text.clone()).collect();
        let expected: Vec<String> = (0..8).map(|n| format!("message {n}")).collect();
        assert_eq!(texts, expected, "once each, in the order sent");
        let ids: Vec<i64> = reader.broadcasts().iter().map(|m| m.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
        reader.roundtrip().await;
        assert_eq!(reader.broadcasts().len(), 8, "and no duplicate came after");
    }
}

//! Chat edits and deletions cross between nodes like new messages do, and the change counters
//! of one room stay distinct and in order when several nodes change its chat at once.

use crate::cluster::Cluster;
use crate::ws::WsClient;

#[tokio::test]
async fn edits_and_deletions_on_one_node_reach_clients_on_the_others() {
    let cluster = Cluster::start(2, |_| {}).await;
    let [a, b] = &cluster.nodes[..] else {
        panic!("two nodes");
    };
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let bob = b.browser();
    bob.register("bob").await;
    let mut on_a = WsClient::join(a, &alice, "notes", 1).await;
    let mut alice_on_b = WsClient::join(b, &alice.clone_on(b), "notes", 2).await;
    let mut bob_on_b = WsClient::join(b, &bob, "notes", 3).await;

    let first = on_a.post("m-1", "typo hree").await;
    let second = on_a.post("m-2", "to be deleted").await;
    on_a.edit_chat(first.id, "typo here").await;
    on_a.delete_chat(second.id).await;
    assert!(on_a.pump_until(|c| c.update_acks().len() == 2).await);
    let acked: Vec<_> = on_a.update_acks().into_iter().cloned().collect();
    for client in [&mut bob_on_b, &mut alice_on_b] {
        assert!(
            client.pump_until(|c| c.updates().len() == 2).await,
            "a's edit and deletion reached b's clients"
        );
        let seen: Vec<_> = client.updates().into_iter().cloned().collect();
        assert_eq!(seen, acked);
    }
    assert_eq!(bob_on_b.updates()[0].text, "typo here");
    assert!(bob_on_b.updates()[1].deleted && bob_on_b.updates()[1].text.is_empty());

    // Both nodes change the room's chat at once: every change gets its own counter.
    let mine = alice_on_b.post("m-3", "from b").await;
    for round in 0..10 {
        on_a.edit_chat(first.id, &format!("a {round}")).await;
        alice_on_b.edit_chat(mine.id, &format!("b {round}")).await;
    }
    assert!(on_a.pump_until(|c| c.update_acks().len() == 12).await);
    assert!(alice_on_b.pump_until(|c| c.update_acks().len() == 10).await);
    let mut changes: Vec<i64> = on_a.update_acks()[2..]
        .iter()
        .chain(alice_on_b.update_acks().iter())
        .map(|m| m.change)
        .collect();
    changes.sort_unstable();
    changes.dedup();
    assert_eq!(changes.len(), 20, "no two changes share a counter");

    // A client that saw only the start catches up on the other node by change counter.
    let mut late = WsClient::join(b, &bob, "notes", 4).await;
    late.ask_changes_since(second.id, second.change).await;
    assert!(late.pump_until(|c| !c.history().is_empty()).await);
    let mut texts: Vec<(i64, String)> = late
        .history()
        .iter()
        .map(|m| (m.id, m.text.clone()))
        .collect();
    texts.sort_unstable();
    assert_eq!(
        texts,
        [
            (first.id, "a 9".to_owned()),
            (second.id, String::new()),
            (mine.id, "b 9".to_owned()),
        ],
        "each changed message once, as it is now"
    );
}

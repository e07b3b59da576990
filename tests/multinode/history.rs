//! History across nodes: an automatic version saved while two nodes serve the room, restored
//! through one of them, reaches the clients of both.

use std::time::Duration;

use reqwest::StatusCode;

use crate::cluster::Cluster;
use crate::ws::WsClient;

#[tokio::test]
async fn a_version_saved_by_the_nodes_and_restored_through_one_reaches_clients_on_every_node() {
    let cluster = Cluster::start(2, |c| {
        c.flush_interval_ms = 20;
        c.history_quiet_secs = 1;
    })
    .await;
    let [a, b] = &cluster.nodes[..] else {
        panic!("two nodes");
    };
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let mut on_a = WsClient::join(a, &alice, "notes", 1).await;
    let mut on_b = WsClient::join(b, &alice.clone_on(b), "notes", 2).await;
    on_a.insert(0, "first").await;
    assert!(on_b.pump_until(|c| c.text() == "first").await);

    // Both nodes' historians see the pause.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let first = loop {
        let versions: serde_json::Value = alice
            .get("/rooms/notes/versions")
            .await
            .json()
            .await
            .expect("JSON");
        if let Some(list) = versions.as_array().filter(|l| !l.is_empty()) {
            break list.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "a version is saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    on_b.insert(5, " then second").await;
    assert!(on_a.pump_until(|c| c.text() == "first then second").await);
    let id = first[0]["id"].as_i64().expect("an id");

    let bob = b.browser();
    bob.register("bob").await;
    let restored = bob
        .submit(
            "/rooms/notes",
            &format!("/rooms/notes/versions/{id}/restore"),
            &[],
        )
        .await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert!(
        on_a.pump_until(|c| c.text() == "first").await,
        "node a's client"
    );
    assert!(
        on_b.pump_until(|c| c.text() == "first").await,
        "node b's client"
    );
}

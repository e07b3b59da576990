//! Nodes record their heartbeats in the database, and a node that shares the database with
//! another that is not on its bus says so.

use std::time::Duration;

use chatspace::startup::NODES_OFF_BUS;

use crate::cluster::Cluster;

#[tokio::test]
async fn a_node_on_the_database_but_off_the_bus_is_reported_and_forgotten_when_it_stops() {
    let cluster = Cluster::start(1, |_| {}).await;
    let on_bus = &cluster.nodes[0];
    let before = on_bus.metric(NODES_OFF_BUS).await;
    let mut stray = cluster.node_without_bus().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while stray.metric(NODES_OFF_BUS).await <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node without a bus reported the other node"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(on_bus.count("SELECT COUNT(*) FROM nodes").await, 2);
    assert_eq!(
        on_bus
            .count("SELECT COUNT(*) FROM nodes WHERE bus = ''")
            .await,
        1,
        "the stray node's row says it has no bus"
    );
    stray.stop().await;
    assert_eq!(
        on_bus.count("SELECT COUNT(*) FROM nodes").await,
        1,
        "a node that stops removes its row"
    );
}

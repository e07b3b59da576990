//! A node cut off from Redis: it says it is not ready, keeps serving its own clients, and once
//! Redis is back every node's clients converge on what was typed meanwhile, from the database.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;

use crate::cluster::{redis_address, redis_url, Cluster};
use crate::helpers::{postgres_server, TestApp};
use crate::proxy::Proxy;
use crate::ws::WsClient;

/// Polls `/readyz` until it answers `status` (false after 30 s).
async fn readiness_becomes(node: &TestApp, status: StatusCode) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if node.browser().get("/readyz").await.status() == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Reads until `done` holds, for up to 30 s (catching up waits out a grace period and a
/// reconnection backoff).
async fn eventually(client: &mut WsClient, done: impl Fn(&WsClient) -> bool) -> bool {
    for _ in 0..3 {
        if client.pump_until(&done).await {
            return true;
        }
    }
    false
}

/// Node a reaches Redis directly, node b through a proxy the test can cut; alice has a client
/// in room "notes" on each.
struct Split {
    proxy: Proxy,
    cluster: Cluster,
    b: TestApp,
    on_a: WsClient,
    on_b: WsClient,
}

async fn split() -> Split {
    let proxy = Proxy::start(redis_address()).await;
    let cluster = Cluster::start(1, |_| {}).await;
    let b = cluster
        .node(&format!("redis://127.0.0.1:{}", proxy.port), &|_| {})
        .await;
    let a = &cluster.nodes[0];
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let on_a = WsClient::join(a, &alice, "notes", 1).await;
    let on_b = WsClient::join(&b, &alice.clone_on(&b), "notes", 2).await;
    Split {
        proxy,
        cluster,
        b,
        on_a,
        on_b,
    }
}

#[tokio::test]
async fn a_node_cut_off_from_redis_is_not_ready_and_catches_up_when_redis_is_back_empty() {
    let Split {
        proxy,
        cluster,
        b,
        mut on_a,
        mut on_b,
    } = split().await;
    let a = &cluster.nodes[0];
    on_a.insert(0, "before").await;
    assert!(on_b.pump_until(|x| x.text() == "before").await);
    assert_eq!(b.browser().get("/readyz").await.status(), StatusCode::OK);

    proxy.cut();
    assert!(
        readiness_becomes(&b, StatusCode::SERVICE_UNAVAILABLE).await,
        "the cut-off node says it is not ready"
    );
    assert_eq!(a.browser().get("/readyz").await.status(), StatusCode::OK);
    // Both go on typing; each node still serves its own clients.
    on_a.insert(6, " during").await;
    on_b.insert(0, "B:").await;
    on_b.roundtrip().await;
    on_a.roundtrip().await;

    // Redis comes back with nothing in it, as one restarted without persistence does: what
    // its streams held is gone, and the nodes fill the gap from the database.
    cluster.redis.wipe().await;
    proxy.restore();
    assert!(readiness_becomes(&b, StatusCode::OK).await, "ready again");
    let expected = "B:before during";
    assert!(
        eventually(&mut on_b, |x| x.text() == expected).await,
        "the cut-off node's client got what was typed elsewhere: {:?}",
        on_b.text()
    );
    assert!(
        eventually(&mut on_a, |x| x.text() == expected).await,
        "and the others got what it typed: {:?}",
        on_a.text()
    );
    on_a.insert(0, "!").await;
    assert!(
        on_b.pump_until(|x| x.text() == "!B:before during").await,
        "and the bus carries edits again"
    );
}

#[tokio::test]
async fn the_bus_writes_only_under_its_key_prefix() {
    let cluster = Cluster::start(2, |_| {}).await;
    let alice = cluster.nodes[0].browser();
    alice.register_with_room("alice", "notes").await;
    let mut on_a = WsClient::join(&cluster.nodes[0], &alice, "notes", 1).await;
    let mut on_b = WsClient::join(
        &cluster.nodes[1],
        &alice.clone_on(&cluster.nodes[1]),
        "notes",
        2,
    )
    .await;
    on_a.insert(0, "x").await;
    assert!(on_b.pump_until(|x| x.text() == "x").await);
    let keys = cluster.redis.keys().await;
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k.starts_with(&cluster.redis.prefix)),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_node_cut_off_from_the_database_keeps_relaying_and_stores_everything_once_it_is_back() {
    let mut cluster = Cluster::start(1, |_| {}).await;
    let server = postgres_server();
    let host_port = server
        .rsplit(['@', '/'])
        .next()
        .expect("CHATSPACE_TEST_POSTGRES as postgres://USER@IP:PORT");
    let postgres: SocketAddr = host_port.parse().expect("an IP address and port");
    let proxy = Proxy::start(postgres).await;
    let database = cluster.nodes[0].config.database_url.clone();
    let through_proxy = database.replacen(host_port, &format!("127.0.0.1:{}", proxy.port), 1);
    let mut b = cluster
        .node(&redis_url(), &|config| {
            config.database_url = through_proxy.clone()
        })
        .await;
    let a = &cluster.nodes[0];
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let mut on_a = WsClient::join(a, &alice, "notes", 1).await;
    let mut on_b = WsClient::join(&b, &alice.clone_on(&b), "notes", 2).await;
    let mut also_on_b = WsClient::join(&b, &alice.clone_on(&b), "notes", 3).await;
    assert_eq!(b.browser().get("/readyz").await.status(), StatusCode::OK);

    proxy.cut();
    assert!(
        readiness_becomes(&b, StatusCode::SERVICE_UNAVAILABLE).await,
        "not ready while its database is unreachable"
    );
    assert_eq!(a.browser().get("/readyz").await.status(), StatusCode::OK);
    on_b.insert(0, "b").await;
    assert!(
        also_on_b.pump_until(|x| x.text() == "b").await,
        "its clients keep seeing each other's edits"
    );
    on_a.insert(0, "a").await;
    assert!(
        on_b.pump_until(|x| x.text().contains('a')).await,
        "and the edits stored elsewhere reach them"
    );

    proxy.restore();
    assert!(readiness_becomes(&b, StatusCode::OK).await, "ready again");
    let text = on_b.text();
    assert!(
        eventually(&mut on_a, |x| x.text() == text).await,
        "its clients' edits reach the others once it has stored them: {:?}",
        on_a.text()
    );
    drop((on_a, on_b, also_on_b));
    b.stop().await;
    for node in &mut cluster.nodes {
        node.stop().await;
    }
    let fresh = cluster.node(&redis_url(), &|_| {}).await;
    let reader = WsClient::join(&fresh, &alice.clone_on(&fresh), "notes", 4).await;
    assert_eq!(reader.text(), text, "the database holds every edit");
}

#[tokio::test]
async fn the_presence_of_a_vanished_nodes_clients_leaves_the_other_nodes_within_15_s() {
    // Node b stays up throughout: only its link to Redis is cut.
    let mut split = split().await;
    split
        .on_b
        .send_awareness(&[(2, 1, Some(r#"{"user":{"name":"alice"}}"#))])
        .await;
    assert!(
        split.on_a.pump_until(|x| x.presence.contains_key(&2)).await,
        "b's client is shown on a"
    );

    // To the others, a node cut off from Redis is as gone as a crashed one.
    split.proxy.cut();
    let cut_at = tokio::time::Instant::now();
    assert!(
        eventually(&mut split.on_a, |x| !x.presence.contains_key(&2)).await,
        "b's client's presence was removed"
    );
    let took = cut_at.elapsed();
    assert!(took < Duration::from_secs(15), "removed after {took:?}");
}

/// Types a keystroke every 20 ms for `time`.
async fn keep_typing(client: &mut WsClient, time: Duration) {
    let until = tokio::time::Instant::now() + time;
    while tokio::time::Instant::now() < until {
        client.insert(0, "b").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_node_whose_clients_type_all_through_a_redis_outage_gets_back_on_the_bus() {
    let Split {
        proxy,
        cluster: _cluster,
        b,
        mut on_a,
        mut on_b,
    } = split().await;
    proxy.cut();
    assert!(readiness_becomes(&b, StatusCode::SERVICE_UNAVAILABLE).await);
    // Typing goes on through the outage and after it: the node must find its way back to
    // Redis while its clients never pause.
    keep_typing(&mut on_b, Duration::from_secs(1)).await;
    proxy.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while b.browser().get("/readyz").await.status() != StatusCode::OK {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node got back on the bus while its clients kept typing"
        );
        keep_typing(&mut on_b, Duration::from_millis(200)).await;
    }
    on_b.insert(0, "!").await;
    assert!(
        eventually(&mut on_a, |x| x.text().starts_with('!')).await,
        "and the others get its edits again"
    );
}

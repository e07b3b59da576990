//! Ended sessions and changes of who may use a room reach the sockets on every node.

use std::time::Duration;

use reqwest::StatusCode;

use crate::cluster::Cluster;
use crate::helpers::{Browser, TestApp, PASSWORD};
use crate::ws::WsClient;

/// How soon a change on one node must reach a socket on another.
const WITHIN: Duration = Duration::from_secs(1);

/// Alice, with her room "notes", signed in on node `a` (the laptop) and on node `b` (the phone).
async fn laptop_on_a_phone_on_b(a: &TestApp, b: &TestApp) -> (Browser, Browser) {
    let laptop = a.browser();
    laptop.register_with_room("alice", "notes").await;
    let phone = b.browser();
    assert_eq!(
        phone.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    (laptop, phone)
}

#[tokio::test]
async fn logging_out_on_one_node_closes_that_sessions_sockets_on_the_others() {
    let cluster = Cluster::start(2, |_| {}).await;
    let [a, b] = &cluster.nodes[..] else {
        panic!("two nodes");
    };
    let (laptop, phone) = laptop_on_a_phone_on_b(a, b).await;
    // The laptop's session has a socket on each node; the phone's on node b.
    let mut laptop_on_b = WsClient::join(b, &laptop.clone_on(b), "notes", 1).await;
    let mut laptop_on_a = WsClient::join(a, &laptop, "notes", 2).await;
    let mut phone_on_b = WsClient::join(b, &phone, "notes", 3).await;

    assert_eq!(laptop.logout().await.status(), StatusCode::SEE_OTHER);
    assert_eq!(laptop_on_a.closed_within(WITHIN).await, Some(Some(4401)));
    assert_eq!(laptop_on_b.closed_within(WITHIN).await, Some(Some(4401)));
    phone_on_b.send_chat("p-1", "still signed in").await;
    assert!(phone_on_b.pump_until(|c| c.acks().len() == 1).await);
    assert_eq!(phone_on_b.closed, None);
}

#[tokio::test]
async fn a_role_change_or_removal_on_one_node_reaches_sockets_on_another() {
    let cluster = Cluster::start(2, |_| {}).await;
    let [a, b] = &cluster.nodes[..] else {
        panic!("two nodes");
    };
    let alice = a.browser();
    alice.register_with_room("alice", "notes").await;
    let bob_http = b.browser();
    assert_eq!(
        bob_http.register("bob").await.status(),
        StatusCode::SEE_OTHER
    );
    let carol_http = b.browser();
    assert_eq!(
        carol_http.register("carol").await.status(),
        StatusCode::SEE_OTHER
    );
    alice.assign_role("notes", "bob", "editor").await;
    alice.assign_role("notes", "carol", "editor").await;
    let mut owner = WsClient::join(a, &alice, "notes", 1).await;
    let mut bob = WsClient::join(b, &bob_http, "notes", 2).await;
    let mut carol = WsClient::join(b, &carol_http, "notes", 3).await;

    alice.assign_role("notes", "bob", "viewer").await;
    let viewer = |c: &WsClient| c.role.as_deref() == Some("viewer");
    assert!(bob.pump_within(WITHIN, viewer).await, "downgraded in time");
    bob.insert(0, "dropped").await;
    bob.roundtrip().await;
    owner.roundtrip().await;
    assert_eq!(owner.text(), "");

    alice.set_rules("notes", "private", "editor").await;
    alice.remove_from_room("notes", "carol").await;
    assert_eq!(carol.closed_within(WITHIN).await, Some(Some(4405)));
    alice.delete_room("notes").await;
    assert_eq!(bob.closed_within(WITHIN).await, Some(Some(4404)));
}

#[tokio::test]
async fn a_password_change_on_one_node_reconnects_that_sessions_sockets_on_the_others() {
    let cluster = Cluster::start(2, |_| {}).await;
    let [a, b] = &cluster.nodes[..] else {
        panic!("two nodes");
    };
    let (laptop, phone) = laptop_on_a_phone_on_b(a, b).await;
    let mut laptop_on_b = WsClient::join(b, &laptop.clone_on(b), "notes", 1).await;
    let mut phone_on_b = WsClient::join(b, &phone, "notes", 2).await;

    let new = "violet kettle marches slowly";
    let fields = [
        ("current_password", PASSWORD),
        ("password", new),
        ("password_confirm", new),
    ];
    let changed = laptop
        .submit("/accounts/password", "/accounts/password", &fields)
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    // Node b closes the laptop's socket to be reopened (1013), the phone's as signed out.
    assert_eq!(laptop_on_b.closed_within(WITHIN).await, Some(Some(1013)));
    assert_eq!(phone_on_b.closed_within(WITHIN).await, Some(Some(4401)));
    // The laptop comes back on node b with its session's new id.
    let mut again = WsClient::join(b, &laptop.clone_on(b), "notes", 3).await;
    again.insert(0, "back").await;
    again.roundtrip().await;
    assert_eq!(again.closed, None);
}

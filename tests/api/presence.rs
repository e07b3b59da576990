//! Presence (awareness) against a hostile signed-in client: it cannot flood the room with
//! client ids, touch other people's states, or show up under someone else's name.

use chatspace_crdt::presence::MAX_CLIENT_IDS_PER_CONNECTION;
use serde_json::Value;

use crate::helpers::{spawn_app, Browser, TestApp};
use crate::ws::WsClient;

/// alice (who creates the room `lab`; client id 1) and mallory (client id 2), both logged in
/// and joined; alice's browser too.
async fn alice_and_mallory(app: &TestApp) -> (Browser, WsClient, WsClient) {
    let alice_http = app.browser();
    alice_http.register_with_room("alice", "lab").await;
    let mallory_http = app.browser();
    mallory_http.register("mallory").await;
    let alice = WsClient::join(app, &alice_http, "lab", 1).await;
    let mallory = WsClient::join(app, &mallory_http, "lab", 2).await;
    (alice_http, alice, mallory)
}

fn user_name(state: &str) -> Option<String> {
    let state: Value = serde_json::from_str(state).expect("states are JSON");
    state["user"]["name"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn a_socket_announcing_a_thousand_client_ids_gets_only_its_allowed_ones_shown() {
    let app = spawn_app().await;
    let (_, mut alice, mut mallory) = alice_and_mallory(&app).await;
    let state = r#"{"user":{"name":"mallory"}}"#;
    let flood: Vec<(u64, u64, Option<&str>)> = (100..1100).map(|n| (n, 1, Some(state))).collect();
    mallory.send_awareness(&flood).await;
    mallory.roundtrip().await;
    assert!(mallory.closed.is_none(), "ids beyond the cap are ignored");

    let states = alice.query_awareness().await;
    let ids: Vec<u64> = states.iter().map(|e| e.client_id.get()).collect();
    let allowed: Vec<u64> = (100..100 + MAX_CLIENT_IDS_PER_CONNECTION as u64).collect();
    assert_eq!(ids, allowed, "the room holds only the first ids of the cap");
    let relayed: Vec<u64> = alice.presence.keys().copied().collect();
    assert_eq!(relayed, allowed, "and only those were relayed");

    mallory.close().await;
    assert!(
        alice.pump_until(|c| c.presence.is_empty()).await,
        "alice is told mallory's states are gone"
    );
    assert!(
        alice.query_awareness().await.is_empty(),
        "the room has none left"
    );
}

#[tokio::test]
async fn a_client_claiming_another_name_shows_up_under_its_own() {
    let app = spawn_app().await;
    let (alice_http, mut alice, mut mallory) = alice_and_mallory(&app).await;
    let claim = r##"{"user":{"name":"alice","color":"#30bced"},"cursor":{"anchor":3}}"##;
    mallory.send_awareness(&[(2, 1, Some(claim))]).await;
    assert!(alice.pump_until(|c| c.presence.contains_key(&2)).await);
    let shown: Value = serde_json::from_str(&alice.presence[&2]).expect("JSON");
    assert_eq!(
        shown["user"]["name"], "mallory",
        "the session's name, not the claim"
    );
    assert_eq!(shown["user"]["color"], "#30bced", "the rest is kept");
    assert_eq!(shown["cursor"]["anchor"], 3);
    // A newcomer is greeted with the same.
    let carol = WsClient::join(&app, &alice_http, "lab", 3).await;
    assert_eq!(
        carol.presence.get(&2).and_then(|s| user_name(s)).as_deref(),
        Some("mallory")
    );
}

#[tokio::test]
async fn a_client_re_sending_someone_elses_state_changes_nothing_and_stays_connected() {
    let app = spawn_app().await;
    let (_, mut alice, mut mallory) = alice_and_mallory(&app).await;
    let mine = r#"{"user":{"name":"alice"}}"#;
    alice.send_awareness(&[(1, 5, Some(mine))]).await;
    assert!(mallory.pump_until(|c| c.presence.contains_key(&1)).await);
    // What a stock client sends about a peer: the state it received (echoed back), the removal
    // its own 30 s timeout decided (same clock, null), and here a newer state on top.
    mallory
        .send_awareness(&[(1, 5, Some(mine)), (1, 5, None)])
        .await;
    mallory
        .send_awareness(&[(1, 6, Some(r#"{"user":{"name":"x"}}"#))])
        .await;
    mallory.roundtrip().await;
    assert!(mallory.closed.is_none());
    let states = alice.query_awareness().await;
    assert_eq!(states.len(), 1);
    assert_eq!((states[0].client_id.get(), states[0].clock), (1, 5));
    assert_eq!(states[0].state.as_deref(), Some(mine));
}

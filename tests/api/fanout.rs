//! Fan-out batching over real sockets: a busy room sends what comes within a tick merged, one
//! frame per reader, and still every edit reaches every reader, none comes back to its writer,
//! and nothing overtakes the edits before it. A lone edit is never held for the tick.

use crate::helpers::{spawn_app_with, Browser, TestApp};
use crate::realtime::room_with_users;
use crate::ws::WsClient;

/// A server whose rooms all count as busy (no rate threshold), with a tick of `tick_ms`.
async fn busy_server(tick_ms: u64) -> TestApp {
    spawn_app_with(|config| {
        config.fanout_tick_ms = tick_ms;
        config.fanout_threshold = 0;
    })
    .await
}

/// Alice and Bob, each with a client in the room `doc`; their browsers.
async fn alice_and_bob(app: &TestApp) -> (WsClient, WsClient, Vec<Browser>) {
    let users = room_with_users(app, &["alice", "bob"]).await;
    let alice = WsClient::join(app, &users[0], "doc", 1).await;
    let bob = WsClient::join(app, &users[1], "doc", 2).await;
    (alice, bob, users)
}

const BATCHES: &str = r#"chatspace_fanout_batches_total{kind="update"}"#;

#[tokio::test]
async fn a_burst_from_several_writers_reaches_each_reader_merged_and_complete() {
    let app = busy_server(50).await;
    let users = room_with_users(&app, &["alice", "bob", "carol", "dave", "erin"]).await;
    let mut writers = Vec::new();
    for (i, user) in users[..3].iter().enumerate() {
        writers.push(WsClient::join(&app, user, "doc", 10 + i as u64).await);
    }
    let mut readers = Vec::new();
    for (i, user) in users[3..].iter().enumerate() {
        readers.push(WsClient::join(&app, user, "doc", 20 + i as u64).await);
    }
    let batches_before = app.metric(BATCHES).await;
    // Every edit a new item at the start, so that no two of them merge as one typed run: without
    // batching, each would reach each reader in a frame of its own.
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        for (i, writer) in writers.iter_mut().enumerate() {
            writer.insert(0, &format!("[{i}.{round}]")).await;
        }
    }
    let edits = writers.len() * ROUNDS;
    let expected_len: usize = (0..writers.len())
        .flat_map(|i| (0..ROUNDS).map(move |round| format!("[{i}.{round}]").len()))
        .sum();
    let expected_len = expected_len as u32;
    for client in readers.iter_mut().chain(writers.iter_mut()) {
        assert!(
            client.pump_until(|c| c.text_len() == expected_len).await,
            "got {:?}",
            client.text()
        );
    }
    let text = readers[0].text();
    for client in readers.iter().chain(&writers) {
        assert_eq!(client.text(), text, "every client holds the same text");
    }
    for reader in &readers {
        assert!(
            reader.updates_received < edits,
            "{} frames for {edits} edits: batched",
            reader.updates_received
        );
    }
    for writer in &writers {
        assert_eq!(writer.own_echoes, 0, "no writer gets its own edits back");
    }
    assert!(
        app.metric(BATCHES).await > batches_before,
        "batches are counted"
    );
}

#[tokio::test]
async fn a_lone_edit_is_not_held_and_chat_does_not_overtake_held_edits() {
    // A tick far longer than the tests' patience: an edit held for it would never arrive.
    let app = busy_server(60_000).await;
    let (mut alice, mut bob, users) = alice_and_bob(&app).await;
    alice.insert(0, "hello").await;
    assert!(
        bob.pump_until(|c| c.text() == "hello").await,
        "a lone edit goes out at once: {:?}",
        bob.text()
    );
    // Right after it, within the tick: held, until something that must not overtake it goes.
    alice.insert(5, " world").await;
    alice.send_chat("m-1", "did you see?").await;
    assert!(
        bob.pump_until(|c| !c.broadcasts().is_empty()).await,
        "the chat message arrives"
    );
    assert_eq!(
        bob.text(),
        "hello world",
        "the edit sent before the message arrived before it"
    );
    // A newcomer's greeting comes first: what is still held goes to the others as it joins,
    // and the newcomer gets it through its sync instead.
    alice.insert(11, "!").await;
    let carol = WsClient::join(&app, &users[1], "doc", 3).await;
    assert_eq!(carol.text(), "hello world!");
    assert_eq!(carol.updates_received, 0, "nothing ahead of the greeting");
    assert!(
        bob.pump_until(|c| c.text() == "hello world!").await,
        "bob: {:?}",
        bob.text()
    );
}

#[tokio::test]
async fn awareness_in_a_busy_tick_is_merged_to_the_latest_state() {
    let app = busy_server(200).await;
    let (mut alice, mut bob, _) = alice_and_bob(&app).await;
    const MOVES: u64 = 20;
    for clock in 1..=MOVES {
        let state = format!(r#"{{"cursor":{clock}}}"#);
        bob.send_awareness(&[(2, clock, Some(&state))]).await;
    }
    let last = format!(r#"{{"cursor":{MOVES}}}"#);
    assert!(
        alice
            .pump_until(|c| c.presence.get(&2) == Some(&last))
            .await,
        "the latest state arrives: {:?}",
        alice.presence
    );
    assert!(
        alice.awareness_frames < MOVES as usize,
        "{} frames for {MOVES} moves: merged",
        alice.awareness_frames
    );
    // Bob's own state never comes back to him: the query answer is the first he sees of it.
    let states = bob.query_awareness().await;
    assert_eq!(bob.awareness_frames, 1, "only the query's answer");
    assert!(states
        .iter()
        .any(|e| e.state.as_deref() == Some(last.as_str())));
}

#[tokio::test]
async fn a_room_with_more_connections_than_its_frame_budget_holds_its_relays_longer() {
    // A budget of one frame a second: any audience takes the longest tick, five base ticks.
    let app = spawn_app_with(|config| {
        config.fanout_tick_ms = 100;
        config.fanout_threshold = 0;
        config.fanout_frames_per_sec = 1;
    })
    .await;
    let (mut alice, mut bob, _) = alice_and_bob(&app).await;
    // Each keystroke a new item at the start: a relay of its own. The first goes out at once;
    // the room is busy from the second (two relays within a tick), and the rest wait for the end of
    // the room's tick after that first send.
    const EDITS: u32 = 30;
    for _ in 0..EDITS {
        alice.insert(0, "x").await;
    }
    assert!(
        bob.pump_until(|c| c.text_len() >= 1).await,
        "the first edit"
    );
    let first = std::time::Instant::now();
    assert!(
        bob.pump_until(|c| c.text_len() == EDITS).await,
        "every edit: {:?}",
        bob.text()
    );
    let held = first.elapsed();
    // 500 ms with the budget; the base tick alone holds them about 100 ms.
    assert!(
        held >= std::time::Duration::from_millis(300),
        "the held edits came {held:?} after the first: the tick did not grow"
    );
}

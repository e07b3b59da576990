//! A room's update log that several nodes append to: numbered in the order the nodes commit,
//! an entry may come before the edit it builds on, while that edit is not stored yet.

use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, Text, Transact, Update};

use crate::helpers::spawn_app;
use crate::ws::WsClient;

/// Applies `update` to `doc`.
fn apply(doc: &Doc, update: &[u8]) {
    let update = Update::decode_v1(update).expect("decodes");
    doc.transact_mut().apply_update(update).expect("applies");
}

/// Two clients taking turns typing at the start, each building on the other's last character:
/// their updates, and the text they make.
fn taking_turns() -> (Vec<Vec<u8>>, Vec<Vec<u8>>, String) {
    let (a, b) = (Doc::with_client_id(1), Doc::with_client_id(2));
    let (text_a, text_b) = (
        a.get_or_insert_text("colabspace"),
        b.get_or_insert_text("colabspace"),
    );
    let (mut of_a, mut of_b) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let before = a.transact().state_vector();
        text_a.insert(&mut a.transact_mut(), 0, "a");
        let update = a.transact().encode_diff_v1(&before);
        apply(&b, &update);
        of_a.push(update);
        let before = b.transact().state_vector();
        text_b.insert(&mut b.transact_mut(), 0, "b");
        let update = b.transact().encode_diff_v1(&before);
        apply(&a, &update);
        of_b.push(update);
    }
    let text = text_a.get_string(&a.transact());
    (of_a, of_b, text)
}

#[tokio::test]
async fn an_entry_whose_predecessor_is_not_stored_yet_waits_for_it_and_is_never_lost() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let (of_a, of_b, typed) = taking_turns();
    assert_eq!(typed, "bababa");

    // b's node stored all of b's edits; a's node has stored only a's first so far.
    let pool = app.db().await;
    let store = |seq: i64, data: Vec<u8>| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO doc_updates (room_id, seq, data, stored_at) \
                 VALUES ((SELECT id FROM rooms), $1, $2, $3)",
            )
            .bind(seq)
            .bind(data)
            .bind(chatspace::clock::now_millis())
            .execute(&pool)
            .await
            .expect("insert");
            sqlx::query("UPDATE rooms SET doc_seq = $1")
                .bind(seq)
                .execute(&pool)
                .await
                .expect("numbering");
        }
    };
    let early = [&of_a[..1], &of_b[..]].concat();
    for (seq, data) in (1..).zip(early) {
        store(seq, data).await;
    }
    let reader = WsClient::join(&app, &alice, "notes", 9).await;
    assert_eq!(reader.text(), "ba", "what can be shown is shown");
    reader.close().await;

    // The room is saved when the server stops; the waiting entry must survive that.
    let mut app = app;
    app.stop().await;
    for (seq, data) in (5..).zip(of_a[1..].to_vec()) {
        store(seq, data).await;
    }
    let app = app.restart().await;
    let reader = WsClient::join(&app, &alice, "notes", 10).await;
    assert_eq!(
        reader.text(),
        typed,
        "once the rest is stored, every edit is there"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM doc_quarantine").await, 0);
    pool.close().await;
}

//! Stored snapshots as rows: rooms saved before snapshots were compressed still open (and are
//! compressed at their next save), and a snapshot that would change the room is never stored,
//! now that the room's writer checks it off the room's thread.

use chatspace_crdt::codec::update_frame;
use yrs::{Doc, ReadTxn, StateVector, Text, Transact};

use crate::helpers::{spawn_app_with, TestApp};
use crate::persistence::alice_with_room;
use crate::ws::WsClient;

/// Stores `text` as the room's snapshot the way an older server did: the whole document as an
/// uncompressed update, v1 (format 1) or v2 (format 2), with an empty log.
async fn store_old_snapshot(app: &TestApp, format: i64, text: &str) {
    let doc = Doc::with_client_id(40);
    let root = doc.get_or_insert_text(chatspace_crdt::TEXT_NAME);
    root.push(&mut doc.transact_mut(), text);
    let txn = doc.transact();
    let data = match format {
        1 => txn.encode_state_as_update_v1(&StateVector::default()),
        _ => txn.encode_state_as_update_v2(&StateVector::default()),
    };
    let pool = app.db().await;
    sqlx::query(
        "INSERT INTO doc_snapshots (room_id, format, data, upto_seq, updated_at) \
         SELECT id, $1, $2, 0, 0 FROM rooms",
    )
    .bind(format)
    .bind(data)
    .execute(&pool)
    .await
    .expect("the old row is written");
    pool.close().await;
}

#[tokio::test]
async fn rooms_stored_before_compression_still_open_and_are_compressed_at_their_next_save() {
    for format in [1, 2] {
        let app = spawn_app_with(|c| c.flush_interval_ms = 20).await;
        let alice = alice_with_room(&app).await;
        store_old_snapshot(&app, format, "written by an older server").await;

        let mut client = WsClient::join(&app, &alice, "notes", 1).await;
        assert_eq!(
            client.text(),
            "written by an older server",
            "a format {format} row loads"
        );
        client.insert(0, "and now: ").await;
        client.roundtrip().await;
        drop(client);

        // Stopping saves every live room: the new snapshot replaces the old row.
        let app = app.restart().await;
        assert_eq!(
            app.count("SELECT format FROM doc_snapshots").await,
            3,
            "saved again as zstd-compressed v2"
        );
        let again = WsClient::join(&app, &alice, "notes", 2).await;
        assert_eq!(again.text(), "and now: written by an older server");
    }
}

/// Client 2 inserts "XY" into client 1's "hello world this is text" with a right origin left of
/// its origin (found by fuzzing the room). yrs applies it, but the snapshot it encodes of the
/// result loads to another text; the room's schema cannot see this shape, so a client can send
/// it.
const SNAPSHOT_CHANGES_TEXT: &[u8] = &[
    1, 2, 2, 0, 196, 1, 18, 1, 3, 2, 88, 89, 193, 2, 1, 1, 3, 1, 2, 1, 1, 3, 7, 2, 1, 2, 1,
];

#[tokio::test]
async fn a_snapshot_that_would_change_the_text_is_never_stored() {
    let app = spawn_app_with(|c| c.flush_interval_ms = 20).await;
    let alice = alice_with_room(&app).await;
    let mut writer = WsClient::join(&app, &alice, "notes", 1).await;
    writer.insert(0, "hello world this is text").await;
    writer.roundtrip().await;
    let mut odd = WsClient::join(&app, &alice, "notes", 2).await;
    odd.send(update_frame(SNAPSHOT_CHANGES_TEXT)).await;
    odd.roundtrip().await;
    assert!(odd.closed.is_none(), "the room took the update");
    assert!(
        writer.pump_until(|c| c.updates_received > 0).await,
        "the update was relayed"
    );
    assert_ne!(writer.text(), "hello world this is text");
    drop((writer, odd));

    // Stopping makes the room snapshot its log; the check refuses, and the log stays.
    let app = app.restart().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM doc_snapshots").await,
        0,
        "no snapshot was stored"
    );
    assert!(
        app.count("SELECT COUNT(*) FROM doc_updates").await >= 2,
        "both updates are still in the log"
    );
    let back = WsClient::join(&app, &alice, "notes", 3).await;
    assert!(
        back.text().contains("XY"),
        "the room opens from its log, with the edit: {:?}",
        back.text()
    );
}

//! The writer against a real SQLite file whose update log refuses inserts while a trigger is
//! in place: nothing handed over is lost or reordered, and nothing behind a failed write is
//! answered before it.

use super::{DocPersistence, Written};
use crate::auth::CurrentUser;
use crate::rooms::access::Visibility;
use crate::store::{Pool, Store};
use bytes::Bytes;
use chatspace_crdt::codec::client::{decode_server_frame, ServerMessage};
use chatspace_crdt::codec::{ChatEvent, ChatRequest};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

async fn store_with_room() -> (tempfile::TempDir, Store, i64, CurrentUser) {
    let (dir, store) = Store::temporary().await;
    let user = store.insert_user("ada", "hash").await.expect("a user");
    let room = store
        .insert_room("notes", user, Visibility::Public)
        .await
        .expect("a room");
    let author = CurrentUser {
        id: user,
        username: "ada".into(),
    };
    (dir, store, room, author)
}

async fn refuse_appends(store: &Store, refuse: bool) {
    let sql = if refuse {
        "CREATE TRIGGER refuse BEFORE INSERT ON doc_updates \
         BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    } else {
        "DROP TRIGGER refuse"
    };
    let Pool::Sqlite(pool) = store.pool() else {
        panic!("these tests run on SQLite");
    };
    sqlx::query(sql)
        .execute(pool)
        .await
        .expect("the trigger changes");
}

/// The room's persistence with its writer, for a room as stored.
async fn start(store: &Store, room: i64, compact_after: u64) -> DocPersistence {
    let stored = store.load_document(room).await.expect("loads");
    let tasks = TaskTracker::new();
    let target = super::Target {
        room_id: room,
        store: store.clone(),
        bus: None,
    };
    DocPersistence::start(
        target,
        stored.last_seq,
        stored.updates.len(),
        compact_after,
        &tasks,
        CancellationToken::new(),
    )
}

fn update(n: u8) -> Bytes {
    Bytes::from(vec![n; 3])
}

#[tokio::test]
async fn a_catch_up_is_answered_only_after_the_updates_before_it_are_stored() {
    let (_dir, store, room, author) = store_with_room().await;
    let mut persistence = start(&store, room, 1_000).await;

    refuse_appends(&store, true).await;
    persistence.push(update(1), Some(author.id));
    persistence.hand_over();
    persistence.push(update(2), Some(author.id));
    persistence.chat(
        7,
        author.clone(),
        ChatRequest::Since {
            after: 0,
            changes_after: None,
        },
    );
    // When the answer arrives, look at what is stored at that moment.
    let mut events = std::mem::replace(
        &mut persistence.events,
        tokio::sync::mpsc::unbounded_channel().1,
    );
    let reader = store.clone();
    let answered = tokio::spawn(async move {
        // The first chat reply (the writer also reports what it appended).
        let written = loop {
            match events.recv().await {
                Some(Written::Appended { .. }) => continue,
                other => break other,
            }
        };
        let stored = reader.load_document(room).await.expect("loads");
        (written, stored)
    });
    // Sequencing only: the refused append is being retried meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    refuse_appends(&store, false).await;

    let (written, stored) = answered.await.expect("the reader");
    let Some(Written::Chat { conn, replies }) = written else {
        panic!("the catch-up is answered once the updates are stored");
    };
    assert_eq!(conn, 7);
    assert_eq!(
        stored.updates,
        vec![update(1).to_vec(), update(2).to_vec()],
        "both updates were stored, in order, before the answer"
    );
    assert_eq!(stored.seqs, vec![1, 2]);
    let frame = replies.to_sender.expect("a history frame");
    let parsed = decode_server_frame(&frame, &Default::default());
    assert!(
        matches!(&parsed, Ok(ServerMessage::Chat(event)) if matches!(**event, ChatEvent::History { .. })),
        "{parsed:?}"
    );
}

#[tokio::test]
async fn a_chat_message_is_acknowledged_once_stored_and_settle_waits_for_everything() {
    let (_dir, store, room, author) = store_with_room().await;
    let mut persistence = start(&store, room, 2).await;
    persistence.push(update(1), None);
    persistence.push(update(2), None);
    assert!(persistence.compaction_due(false));
    let empty = chatspace_crdt::RoomDoc::new().encode_unchecked_snapshot(super::SNAPSHOT_FORMAT);
    persistence.snapshot(Some(empty.expect("encodes")));
    assert!(
        !persistence.compaction_due(true),
        "the snapshot covers the log"
    );
    persistence.chat(
        3,
        author,
        ChatRequest::Send {
            client_id: "m1".into(),
            text: "stored first".into(),
            anchor: None,
        },
    );
    persistence.settle().await;
    let Ok(Written::Appended {
        first: 1, last: 2, ..
    }) = persistence.events.try_recv()
    else {
        panic!("the append of both updates, numbered from 1, was reported first");
    };
    let Ok(Written::Chat { replies, .. }) = persistence.events.try_recv() else {
        panic!("the acknowledgement was reported before settle returned");
    };
    assert!(replies.to_sender.is_some() && replies.to_others.is_some());
    let stored = store.load_document(room).await.expect("loads");
    assert!(stored.updates.is_empty(), "the snapshot replaced the log");
    assert_eq!(stored.last_seq, 2);
    let history = store.messages_after(room, 0, 10).await.expect("reads");
    assert_eq!(history.len(), 1);
}

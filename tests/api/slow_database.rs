//! A database that is slow or locked: the room keeps relaying, stores once it can, and stops
//! taking new updates rather than holding without bound what it cannot store.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};
use crate::persistence::{alice_with_room, logged_text};
use crate::ws::WsClient;

/// Another connection holding the write lock on the chat and the update log, as a backup or a
/// migration would.
struct WriteLock {
    pool: AnyPool,
    conn: PoolConnection<Any>,
}

impl WriteLock {
    async fn take(app: &TestApp) -> Self {
        let pool = app.db().await;
        let mut conn = pool.acquire().await.expect("a connection");
        let lock: &[&str] = match app.backend {
            Backend::Sqlite => &["BEGIN IMMEDIATE"],
            Backend::Postgres => &[
                "BEGIN",
                "LOCK TABLE messages, doc_updates IN EXCLUSIVE MODE",
            ],
        };
        for statement in lock {
            sqlx::query(statement)
                .execute(&mut *conn)
                .await
                .expect("takes the write lock");
        }
        Self { pool, conn }
    }

    async fn release(mut self) {
        sqlx::query("ROLLBACK")
            .execute(&mut *self.conn)
            .await
            .expect("releases the lock");
        drop(self.conn);
        self.pool.close().await;
    }
}

#[tokio::test]
async fn the_room_keeps_relaying_while_the_database_is_locked_and_acknowledges_chat_after() {
    let app = spawn_app().await;
    let alice = alice_with_room(&app).await;
    let mut a = WsClient::join(&app, &alice, "notes", 1).await;
    let mut b = WsClient::join(&app, &alice, "notes", 2).await;

    // Another process holds the write lock on the chat and the update log.
    let lock = WriteLock::take(&app).await;
    let locked_at = tokio::time::Instant::now();

    a.send_chat("held", "written while the disk was busy").await;
    // For two seconds the two clients keep editing, twenty times a second each (a typist's
    // pace, well within the rate limit): every edit is a round trip through the room, and none
    // can wait for the database.
    let mut pace = tokio::time::interval(Duration::from_millis(50));
    let mut typed = 0;
    while locked_at.elapsed() < Duration::from_secs(2) {
        pace.tick().await;
        typed += 1;
        a.insert(0, "a").await;
        assert!(
            b.pump_until(|b| b.text_len() == typed).await,
            "relayed while locked"
        );
        typed += 1;
        b.insert(0, "b").await;
        assert!(
            a.pump_until(|a| a.text_len() == typed).await,
            "relayed while locked"
        );
    }
    assert!(
        a.acks().is_empty(),
        "nothing is acknowledged before it is stored"
    );

    lock.release().await;
    assert!(
        a.pump_until(|a| !a.acks().is_empty()).await,
        "acknowledged once stored"
    );
    assert!(
        b.pump_until(|b| !b.broadcasts().is_empty()).await,
        "and then broadcast"
    );
    assert!(
        app.count("SELECT COUNT(*) FROM messages").await == 1,
        "stored once"
    );
}

#[tokio::test]
async fn past_the_unstored_bound_a_room_turns_new_updates_away_and_stores_what_it_relayed() {
    let app = spawn_app_with(|c| c.max_unstored_bytes = 300).await;
    let alice = alice_with_room(&app).await;
    let mut a = WsClient::join(&app, &alice, "notes", 1).await;
    let mut b = WsClient::join(&app, &alice, "notes", 2).await;
    let lock = WriteLock::take(&app).await;
    // A keystroke is a few dozen bytes: the bound is reached within a few dozen of them.
    let mut typed = 0;
    while typed < 200 {
        a.insert(0, "x").await;
        typed += 1;
        if !b.pump_until(|b| b.text_len() == typed).await {
            break;
        }
    }
    assert!(typed < 200, "the room stopped taking updates");
    assert!(
        a.pump_until(|a| a.closed.is_some()).await,
        "the sender was closed"
    );
    assert_eq!(a.closed, Some(Some(1013)), "with try-again-later");
    let relayed = b.text();
    assert_eq!(
        relayed.len(),
        typed as usize - 1,
        "everything before the bound was relayed"
    );
    lock.release().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while logged_text(&app).await != relayed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "what was relayed is stored once the database is back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

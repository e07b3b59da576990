//! Login throttling engages after repeated failures and releases after the lockout.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, PASSWORD};

#[tokio::test]
async fn repeated_failures_lock_the_account_and_the_lock_releases() {
    let app = spawn_app_with(|c| {
        c.login_max_failures = 3;
        c.login_lockout_secs = 2;
    })
    .await;
    app.browser().register("alice").await;
    let mallory = app.browser();
    for _ in 0..3 {
        assert_eq!(
            mallory.login("alice", "guess guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = mallory.login("alice", PASSWORD).await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    let html = locked.text().await.unwrap();
    assert!(
        html.contains("Too many failed attempts. Try again in"),
        "{html}"
    );
    let other = app.browser();
    assert_eq!(
        other.login("alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account is locked, not the browser"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.browser().login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn failures_across_accounts_lock_the_client_address() {
    let app = spawn_app_with(|c| {
        c.login_max_failures = 100;
        c.login_max_failures_per_address = 4;
        c.login_lockout_secs = 60;
    })
    .await;
    app.browser().register("alice").await;
    let mallory = app.browser();
    for name in ["bob", "carol", "dave", "erin"] {
        mallory.login(name, "guess guess").await;
    }
    let response = app.browser().login("alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

//! Throttling gives no one a way to lock out someone else: failures lock the (account,
//! address) pair, so the owner still logs in from another address, while the account's
//! failures from everywhere only slow its logins down, more with each one.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, TestApp, PASSWORD};

/// A login as `username` from `address` (as the one trusted proxy says), and how long the
/// server took to answer it.
async fn login_from(
    app: &TestApp,
    address: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Duration) {
    let browser = app.browser();
    let token = browser.csrf_token("/accounts/login").await;
    let started = Instant::now();
    let response = browser
        .client
        .post(browser.url("/accounts/login"))
        .header("x-forwarded-for", address)
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("posts");
    (response.status(), started.elapsed())
}

#[tokio::test]
async fn five_failures_from_one_address_do_not_keep_the_owner_out_from_another() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = 1;
        c.login_max_failures = 5;
        c.login_max_failures_per_address = 1000;
        c.login_lockout_secs = 60;
        c.login_max_delay_secs = 3;
    })
    .await;
    app.browser().register("alice").await;
    let mallory = "203.0.113.9";
    for _ in 0..5 {
        let (status, _) = login_from(&app, mallory, "alice", "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = login_from(&app, mallory, "alice", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "mallory's address is locked out of alice"
    );
    let (status, _) = login_from(&app, mallory, "bob", "guess guess").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "but not out of other accounts"
    );

    let (status, waited) = login_from(&app, "198.51.100.7", "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "alice logs in from home");
    assert!(
        waited >= Duration::from_millis(500),
        "after a short wait ({waited:?})"
    );

    // Guesses spread over other addresses are never refused, but each waits longer.
    let mut waits = Vec::new();
    for n in 1..=3 {
        let (status, waited) =
            login_from(&app, &format!("192.0.2.{n}"), "alice", "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        waits.push(waited);
    }
    assert!(waits[0] >= Duration::from_millis(500), "{waits:?}");
    assert!(waits[1] >= Duration::from_millis(1000), "{waits:?}");
    assert!(waits[2] >= Duration::from_millis(2000), "{waits:?}");
    assert!(
        waits[0] < waits[1] && waits[1] < waits[2],
        "the wait grows: {waits:?}"
    );
    let (status, waited) = login_from(&app, "198.51.100.7", "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the owner is still let in");
    // Four failures past the limit would make 4 s; the cap is 3.
    assert!(
        waited >= Duration::from_secs(3),
        "after the capped wait ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(4),
        "no longer than the cap ({waited:?})"
    );
}

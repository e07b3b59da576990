//! Login throttling engages after repeated failures and releases after the lockout; a burst of
//! simultaneous logins gets no more guesses checked than the limit, and no more hashes than the
//! hashing slots and queue take. The counts are shared by every node on one database, and a
//! login whose count cannot be taken is refused.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::helpers::{retry_after_secs, spawn_app, spawn_app_with, Browser, TestApp, PASSWORD};

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
    let retry = retry_after_secs(&locked);
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

/// Two nodes on one database where alice has an account that five failures lock (the address
/// limit is out of the way).
async fn two_nodes_with_alice() -> (TestApp, TestApp) {
    let first = spawn_app_with(|c| {
        c.login_max_failures = 5;
        c.login_max_failures_per_address = 1000;
    })
    .await;
    let second = first.another_node().await;
    assert_eq!(
        first.browser().register("alice").await.status(),
        StatusCode::SEE_OTHER
    );
    (first, second)
}

#[tokio::test]
async fn failures_spread_over_two_nodes_lock_the_account_on_both() {
    let (first, second) = two_nodes_with_alice().await;
    let (on_first, on_second) = (first.browser(), second.browser());
    for n in 0..5 {
        let mallory = if n % 2 == 0 { &on_first } else { &on_second };
        assert_eq!(
            mallory.login("alice", "guess guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    for node in [&first, &second] {
        let locked = node.browser().login("ALICE", PASSWORD).await;
        assert_eq!(
            locked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "three failures on one node and two on the other lock the account on both"
        );
        let retry = retry_after_secs(&locked);
        let lockout = first.config.login_lockout_secs;
        assert!(
            (lockout - 5..=lockout).contains(&retry),
            "Retry-After: {retry}"
        );
    }
}

/// What one login POST got back.
#[derive(Debug)]
struct Outcome {
    status: StatusCode,
    retry_after: Option<String>,
    html: String,
}

/// `count` browsers, each holding the token of a login form, so that a burst is only the POSTs.
async fn login_forms(app: &TestApp, count: usize) -> Vec<(Browser, String)> {
    let mut forms = Vec::with_capacity(count);
    for _ in 0..count {
        let browser = app.browser();
        let token = browser.csrf_token("/accounts/login").await;
        forms.push((browser, token));
    }
    forms
}

async fn post_login(browser: &Browser, token: &str, username: &str, password: &str) -> Outcome {
    let fields = [
        ("username", username),
        ("password", password),
        ("csrf_token", token),
    ];
    let response = browser.post_form("/accounts/login", &fields).await;
    Outcome {
        status: response.status(),
        retry_after: response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        html: response.text().await.expect("body"),
    }
}

#[tokio::test]
async fn of_sixty_simultaneous_guesses_no_more_than_the_limit_are_checked() {
    let app = spawn_app_with(|c| {
        c.login_max_failures = 5;
        c.login_max_failures_per_address = 1000;
        c.hash_queue = 100;
    })
    .await;
    app.browser().register("alice").await;
    let (thief, thief_token) = login_forms(&app, 1).await.remove(0);
    let mut guesses = JoinSet::new();
    for (i, (browser, token)) in login_forms(&app, 60).await.into_iter().enumerate() {
        let guess = format!("wrong guess {i}");
        guesses.spawn(async move { post_login(&browser, &token, "alice", &guess).await });
    }
    let mut outcomes = Vec::new();
    let mut right = None;
    while let Some(outcome) = guesses.join_next().await {
        let outcome = outcome.expect("guess task");
        if right.is_none() && outcome.status == StatusCode::TOO_MANY_REQUESTS {
            // The account is full of guesses in flight: now the right password comes.
            right = Some(post_login(&thief, &thief_token, "alice", PASSWORD).await);
        }
        outcomes.push(outcome);
    }
    let checked = outcomes
        .iter()
        .filter(|o| o.html.contains("Wrong username or password."))
        .count();
    let statuses: Vec<u16> = outcomes.iter().map(|o| o.status.as_u16()).collect();
    assert_eq!(
        checked, 5,
        "exactly the limit of guesses was checked: {statuses:?}"
    );
    for refused in outcomes
        .iter()
        .filter(|o| o.status != StatusCode::UNAUTHORIZED)
    {
        assert_eq!(
            refused.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{statuses:?}"
        );
        assert!(refused
            .html
            .contains("Too many failed attempts. Try again in"));
        assert!(refused.retry_after.is_some());
    }
    let right = right.expect("some guesses were refused");
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.html
    );
    assert!(!thief.get_text("/").await.contains("Signed in as"));
    assert_eq!(
        app.browser().login("alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account stays locked"
    );
}

#[tokio::test]
async fn of_twenty_simultaneous_guesses_over_two_nodes_no_more_than_the_limit_are_checked() {
    let (first, second) = two_nodes_with_alice().await;
    let mut forms = login_forms(&first, 10).await;
    forms.extend(login_forms(&second, 10).await);
    let mut guesses = JoinSet::new();
    for (i, (browser, token)) in forms.into_iter().enumerate() {
        let guess = format!("wrong guess {i}");
        guesses.spawn(async move { post_login(&browser, &token, "alice", &guess).await });
    }
    let outcomes = guesses.join_all().await;
    let statuses: Vec<u16> = outcomes.iter().map(|o| o.status.as_u16()).collect();
    let checked: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status != StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(
        checked.len(),
        5,
        "the two nodes together checked the limit of guesses: {statuses:?}"
    );
    for outcome in checked {
        assert_eq!(outcome.status, StatusCode::UNAUTHORIZED, "{statuses:?}");
        assert!(outcome.html.contains("Wrong username or password."));
    }
    assert!(outcomes
        .iter()
        .filter(|o| o.status == StatusCode::TOO_MANY_REQUESTS)
        .all(|o| o.retry_after.is_some()));
}

#[tokio::test]
async fn a_burst_beyond_the_hashing_slots_and_queue_is_turned_away_with_503() {
    const BURST: usize = 40;
    let app = spawn_app_with(|c| {
        c.hash_concurrency = 1;
        c.hash_queue = 1;
        c.login_max_failures = 1000;
        // Were the turned-away logins counted, the burst alone would lock this address.
        c.login_max_failures_per_address = u32::try_from(BURST).unwrap();
    })
    .await;
    app.browser().register("alice").await;
    let mut burst = JoinSet::new();
    for (i, (browser, token)) in login_forms(&app, BURST).await.into_iter().enumerate() {
        burst.spawn(async move {
            let username = format!("nobody{i}");
            let outcome = post_login(&browser, &token, &username, "wrong guess").await;
            (username, outcome)
        });
    }
    let outcomes = burst.join_all().await;
    let statuses: Vec<u16> = outcomes.iter().map(|(_, o)| o.status.as_u16()).collect();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let busy: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| o.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(
        checked + busy.len(),
        BURST,
        "each login was checked or turned away: {statuses:?}"
    );
    assert!(
        checked >= 2,
        "the slot and the queue place were used: {statuses:?}"
    );
    assert!(
        !busy.is_empty(),
        "one slot and one queue place cannot take {BURST} at once"
    );
    for (username, outcome) in busy {
        assert_eq!(outcome.retry_after.as_deref(), Some("1"));
        assert!(outcome
            .html
            .contains("The server is busy checking other passwords. Try again in a moment."));
        assert!(
            outcome.html.contains(&format!("value=\"{username}\"")),
            "the form is shown again with the username"
        );
    }
    assert_eq!(
        app.browser().login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "every hashing slot came back, and turned-away logins were not counted as failures"
    );
}

/// A login as alice through a proxy that passed on `forwarded` as `X-Forwarded-For`.
async fn login_via_proxy(app: &TestApp, forwarded: &str, password: &str) -> StatusCode {
    let browser = app.browser();
    let token = browser.csrf_token("/accounts/login").await;
    browser
        .client
        .post(browser.url("/accounts/login"))
        .header("x-forwarded-for", forwarded)
        .form(&[
            ("username", "alice"),
            ("password", password),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("posts")
        .status()
}

#[tokio::test]
async fn a_forged_leading_forwarded_for_entry_does_not_dodge_the_address_limit() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = 1;
        c.login_max_failures = 100;
        c.login_max_failures_per_address = 3;
        c.login_lockout_secs = 60;
    })
    .await;
    app.browser().register("alice").await;
    // Each guess claims a new address in front; the proxy appended the real one last.
    for n in 0..3 {
        let forwarded = format!("198.51.100.{n}, 203.0.113.9");
        let status = login_via_proxy(&app, &forwarded, "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_via_proxy(&app, "198.51.100.99, 203.0.113.9", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the address the proxy saw is locked, whatever comes before it"
    );
    assert_eq!(
        login_via_proxy(&app, "203.0.113.10", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "another client behind the same proxy is not"
    );
}

#[tokio::test]
async fn a_login_whose_failure_count_cannot_be_taken_is_refused_not_checked() {
    let app = spawn_app().await;
    app.browser().register("alice").await;
    let db = app.db().await;
    sqlx::query("ALTER TABLE throttle_counts RENAME TO throttle_counts_away")
        .execute(&db)
        .await
        .expect("the table is renamed");
    let refused = app.browser().login("alice", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after_secs(&refused), 5);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("The server cannot take sign-ins or sign-ups right now."),
        "{html}"
    );
    sqlx::query("ALTER TABLE throttle_counts_away RENAME TO throttle_counts")
        .execute(&db)
        .await
        .expect("the table is back");
    db.close().await;
    let browser = app.browser();
    assert_eq!(
        browser.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "logins work again once the counts can be taken"
    );
    assert!(browser.get_text("/").await.contains("Signed in as"));
}

//! CSRF tokens, session handling, and the HTTP layer against a hostile client: half-sent
//! requests, oversized forms, caching of pages.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, Browser, PASSWORD};

#[tokio::test]
async fn a_post_without_a_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.csrf_token("/accounts/register").await;
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    let response = alice.post_form("/accounts/register", &fields).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("This form has expired"));
    let pool = app.db().await;
    let users: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users.0, 0);
}

#[tokio::test]
async fn a_post_with_another_sessions_csrf_token_is_refused() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let mallory = app.browser();
    let foreign = mallory.csrf_token("/accounts/login").await;
    let response = alice
        .post_form("/rooms", &[("name", "stolen"), ("csrf_token", &foreign)])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let logout = alice
        .post_form("/accounts/logout", &[("csrf_token", "wrong")])
        .await;
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert!(
        alice.get_text("/").await.contains("Signed in as"),
        "still logged in"
    );
    assert!(
        !alice.get_text("/").await.contains("stolen"),
        "no room was created"
    );
}

#[tokio::test]
async fn every_form_carries_a_csrf_token() {
    let app = spawn_app().await;
    let alice = app.browser();
    for page in ["/accounts/register", "/accounts/login"] {
        let html = alice.get_text(page).await;
        assert_eq!(
            html.matches("<form").count(),
            html.matches("name=\"csrf_token\"").count(),
            "{page}"
        );
    }
    alice.register_with_room("alice", "general").await;
    for page in ["/", "/rooms/general"] {
        let html = alice.get_text(page).await;
        assert!(html.contains("<form"));
        assert_eq!(
            html.matches("method=\"post\"").count(),
            html.matches("name=\"csrf_token\"").count(),
            "{page}"
        );
    }
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_the_old_one_is_worthless() {
    let app = spawn_app().await;
    app.browser().register("alice").await;
    let browser = app.browser();
    browser.csrf_token("/accounts/login").await;
    let before = browser
        .session_id()
        .expect("an anonymous session holds the CSRF token");
    browser.login("alice", PASSWORD).await;
    let after = browser.session_id().expect("logged-in session");
    assert_ne!(before, after, "the id is cycled at login");
    let planted = raw_client(&app.url("/"), &before).await;
    assert!(
        !planted.contains("Signed in as"),
        "the pre-login id does not log anyone in"
    );
    let current = raw_client(&app.url("/"), &after).await;
    assert!(current.contains("Signed in as"));
}

#[tokio::test]
async fn logout_destroys_the_session_on_the_server() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let id = alice.session_id().unwrap();
    alice.logout().await;
    let replayed = raw_client(&app.url("/"), &id).await;
    assert!(
        !replayed.contains("Signed in as"),
        "a copied cookie is dead after logout"
    );
    let pool = app.db().await;
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tower_sessions WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows.0, 0);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let response = Browser::new(app.port).get("/accounts/login").await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("chatspace_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http by default: {cookie}"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_configured_for_https() {
    let app = crate::helpers::spawn_app_with(|c| c.secure_cookies = true).await;
    let response = Browser::new(app.port).get("/accounts/login").await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

/// GETs `url` with only the given session cookie, as someone who copied it would.
async fn raw_client(url: &str, session_id: &str) -> String {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("cookie", format!("chatspace_session={session_id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_request_head_is_closed() {
    let app = crate::helpers::spawn_app_with(|c| c.header_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
        .await
        .expect("the server closes the connection instead of waiting for the rest");
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!(
            "expected the connection to close, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
    }
    assert_eq!(
        app.browser().get("/healthz").await.status(),
        StatusCode::OK,
        "whole requests are still served"
    );
}

#[tokio::test]
async fn a_form_over_the_size_limit_is_refused_with_413() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let name = "x".repeat(70 * 1024);
    let response = alice.create_room(&name).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("That form was too large"));
}

#[tokio::test]
async fn pages_and_chat_history_are_never_cached_but_static_files_are_revalidated() {
    let app = spawn_app().await;
    let alice = app.browser();
    for path in ["/accounts/login", "/accounts/register", "/nowhere"] {
        let response = alice.get(path).await;
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    alice.register_with_room("alice", "general").await;
    for path in ["/", "/rooms/general", "/rooms/general/messages"] {
        let response = alice.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let css = alice.get("/static/style.css").await;
    assert_eq!(css.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn a_half_sent_request_does_not_hold_up_shutdown() {
    let mut app = crate::helpers::spawn_app_with(|c| c.header_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    // A whole request on another connection: the server is serving when it is told to stop.
    assert_eq!(app.browser().get("/healthz").await.status(), StatusCode::OK);
    tokio::time::timeout(Duration::from_secs(20), app.stop())
        .await
        .expect("the server stops although a request head never arrived");
}

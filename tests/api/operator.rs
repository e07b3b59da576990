//! The operator's commands, run as the real binary against the test's database while the
//! server runs: `chatspace user add|reset-password|unlock|delete NAME`, and
//! `--registration closed`, where only they add users.

use std::process::Stdio;
use std::time::Duration;

use chatspace::config::Registration;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::ws::WsClient;

const CAROLS: &str = "amber lantern over quiet docks";

/// What a command printed and whether it succeeded.
struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `chatspace [flags] user ARGS` on the app's database, with `stdin` as its input.
async fn chatspace(app: &TestApp, flags: &[&str], args: &[&str], stdin: &str) -> Ran {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatspace"))
        .arg("--database-url")
        .arg(&app.config.database_url)
        .args(flags)
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("writes stdin");
    drop(input);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the command ends")
        .expect("its output");
    Ran {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn line(password: &str) -> String {
    format!("{password}\n")
}

#[tokio::test]
async fn operators_add_reset_unlock_and_delete_users() {
    let app = spawn_app().await;
    let weak = chatspace(
        &app,
        &[],
        &["add", "carol", "--password-stdin"],
        "password1\n",
    )
    .await;
    assert!(!weak.success, "{}", weak.stdout);
    assert!(weak.stderr.contains("too easy to guess"), "{}", weak.stderr);
    let added = chatspace(
        &app,
        &[],
        &["add", "carol", "--password-stdin"],
        &line(CAROLS),
    )
    .await;
    assert!(added.success, "{}", added.stderr);
    assert!(
        added.stdout.contains("added user carol"),
        "{}",
        added.stdout
    );
    let again = chatspace(
        &app,
        &[],
        &["add", "Carol", "--password-stdin"],
        &line(CAROLS),
    )
    .await;
    assert!(
        !again.success && again.stderr.contains("already a user"),
        "{}",
        again.stderr
    );
    let carol = app.browser();
    assert_eq!(
        carol.login("carol", CAROLS).await.status(),
        StatusCode::SEE_OTHER
    );

    // Locked out of her account from this address, and let in again by the operator.
    for _ in 0..app.config.login_max_failures {
        app.browser().login("carol", "guess guess").await;
    }
    assert_eq!(
        app.browser().login("carol", CAROLS).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let unlocked = chatspace(&app, &[], &["unlock", "carol"], "").await;
    assert!(unlocked.success, "{}", unlocked.stderr);
    assert_eq!(
        app.browser().login("carol", CAROLS).await.status(),
        StatusCode::SEE_OTHER
    );

    let reset = chatspace(
        &app,
        &[],
        &["reset-password", "carol"],
        &line("violet kettle marches slowly"),
    )
    .await;
    assert!(reset.success, "{}", reset.stderr);
    assert!(
        !carol.get_text("/").await.contains("Signed in as"),
        "her session ended"
    );
    assert_eq!(
        app.browser().login("carol", CAROLS).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        carol
            .login("carol", "violet kettle marches slowly")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    let owner = app.browser();
    owner.register_with_room("dave", "plans").await;
    let refused = chatspace(&app, &[], &["delete", "dave"], "").await;
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("only owner of this room: plans"),
        "{}",
        refused.stderr
    );
    let deleted = chatspace(&app, &[], &["delete", "carol"], "").await;
    assert!(deleted.success, "{}", deleted.stderr);
    assert!(!carol.get_text("/").await.contains("Signed in as"));
    assert_eq!(
        app.browser()
            .login("carol", "violet kettle marches slowly")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let missing = chatspace(&app, &[], &["unlock", "carol"], "").await;
    assert!(
        !missing.success && missing.stderr.contains("no user called"),
        "{}",
        missing.stderr
    );
}

/// The tests' Redis, where the running nodes and the command meet.
fn redis_url() -> String {
    std::env::var("CHATSPACE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

#[tokio::test]
async fn with_redis_a_reset_or_deletion_closes_the_users_sockets_on_running_nodes_within_a_second()
{
    let prefix = format!(
        "chatspace-test-operator-{}-{:?}",
        std::process::id(),
        crate::BACKEND
    );
    let app = spawn_app_with(|c| {
        c.redis_url = Some(redis_url());
        c.redis_prefix = prefix.clone();
    })
    .await;
    let erin = app.browser();
    erin.register_with_room("erin", "desk").await;
    let frank = app.browser();
    frank.register("frank").await;
    let mut erins = WsClient::join(&app, &erin, "desk", 1).await;
    let mut franks = WsClient::join(&app, &frank, "desk", 2).await;
    let bus = ["--redis-url", &redis_url(), "--redis-prefix", &prefix];

    let reset = chatspace(&app, &bus, &["reset-password", "frank"], &line(CAROLS)).await;
    assert!(reset.success, "{}", reset.stderr);
    assert_eq!(
        franks.closed_within(Duration::from_secs(1)).await,
        Some(Some(4401))
    );
    assert_eq!(erins.closed, None);

    let franks_again = app.browser();
    assert_eq!(
        franks_again.login("frank", CAROLS).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut franks = WsClient::join(&app, &franks_again, "desk", 3).await;
    let deleted = chatspace(&app, &bus, &["delete", "frank"], "").await;
    assert!(deleted.success, "{}", deleted.stderr);
    assert_eq!(
        franks.closed_within(Duration::from_secs(1)).await,
        Some(Some(4401))
    );
    erins.insert(0, "still here").await;
    erins.roundtrip().await;
    assert_eq!(erins.closed, None, "other users' sockets stay");
}

#[tokio::test]
async fn with_registration_closed_only_operators_add_users() {
    let app = spawn_app_with(|c| c.registration = Registration::Closed).await;
    let visitor = app.browser();
    let page = visitor.get("/accounts/register").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Registration is closed"), "{html}");
    assert!(
        !html.contains("action=\"/accounts/register\""),
        "no form: {html}"
    );
    let token = visitor.csrf_token("/accounts/login").await;
    let refused = visitor
        .post_form(
            "/accounts/register",
            &[
                ("username", "mallory"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);

    let added = chatspace(
        &app,
        &[],
        &["add", "grace", "--password-stdin"],
        &line(PASSWORD),
    )
    .await;
    assert!(added.success, "{}", added.stderr);
    assert_eq!(
        visitor.login("grace", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

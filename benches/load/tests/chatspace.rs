//! The generator against a real ChatSpace server on a port: it gets in only by signing up
//! through the forms, its sockets count against the account's socket cap, and the chat mix
//! is stored, acknowledged and answered while every edit still reaches everyone.

mod support;

use std::process::Output;

use chatspace::config::Config;

use support::{report, Server};

/// A server with a fresh SQLite database; the database goes with the returned folder.
async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", dir.path().join("load.db").display());
    (Server::start(config).await, dir)
}

/// Runs the generator binary with `args` against `server`.
async fn generator(server: &Server, args: &[&str]) -> Output {
    support::generator(&server.ws_base(), args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_up_load_with_the_chat_mix_converges_and_every_chat_request_is_answered() {
    let (server, _dir) = server().await;
    support::mixed_load(&server.ws_base(), &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_signing_up_no_socket_gets_in() {
    let (server, _dir) = server().await;
    let output = generator(
        &server,
        &["run", "--rooms=1", "--clients=2", "--duration=1"],
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("closed by the server with 4401"),
        "{stderr}"
    );
}

/// `idle` with `connections` sockets of one new account, over 5 rooms.
async fn idle(server: &Server, connections: usize) -> Output {
    let connections = format!("--connections={connections}");
    let args = ["idle", "--sign-up", &connections, "--rooms=5", "--settle=0"];
    generator(server, &args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn one_account_holds_as_many_sockets_as_the_server_allows_one_user() {
    let (server, _dir) = server().await;
    // The default cap is 50 sockets per user.
    assert_eq!(report(&idle(&server, 50).await)["connections"], 50);
    let beyond = idle(&server, 51).await;
    assert!(!beyond.status.success());
    let stderr = String::from_utf8_lossy(&beyond.stderr);
    assert!(
        stderr.contains("closed by the server with 4409"),
        "{stderr}"
    );
}

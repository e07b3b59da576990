//! The generator against a real ChatSpace server on a port: it gets in only by signing up
//! through the forms, its sockets count against the account's socket cap, and the chat mix
//! is stored, acknowledged and answered while every edit still reaches everyone.

use std::process::Output;

use chatspace::config::Config;
use chatspace::startup::Application;
use tokio_util::sync::CancellationToken;

/// A server with a fresh database on a free port; stopped when dropped.
struct Server {
    port: u16,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn server() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", dir.path().join("load.db").display());
    config.bind = "127.0.0.1:0".parse().expect("address");
    let app = Application::build(config).await.expect("server builds");
    let port = app.port();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(app.run_until(async move { stopped.cancelled().await }));
    Server {
        port,
        stop,
        _dir: dir,
    }
}

/// Runs the generator binary with `args` against `server`.
async fn generator(server: &Server, args: &[&str]) -> Output {
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chatspace-load"));
    command
        .args(&args[..1])
        .args(["--url", &url, "--json"])
        .args(&args[1..]);
    // The server runs on this process's runtime: wait for the generator off it.
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the generator's task")
        .expect("the generator runs")
}

fn report(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "the generator failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON report")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_up_load_with_the_chat_mix_converges_and_every_chat_request_is_answered() {
    let server = server().await;
    let output = generator(
        &server,
        &[
            "run",
            "--sign-up",
            "--mix",
            "--rooms=2",
            "--clients=4",
            "--writers=2",
            "--rate=20",
            "--warmup=0.5",
            "--duration=3",
            "--burst-secs=0.5",
            "--pause-secs=0.5",
            "--chat-every-secs=0.5",
        ],
    )
    .await;
    let report = report(&output);
    assert_eq!(report["converged"], true, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["delivery_ratio"].as_f64() >= Some(0.999), "{report}");
    let mix = &report["mix"];
    let sent = mix["chat_sent"].as_u64().unwrap_or(0);
    let since = mix["since_sent"].as_u64().unwrap_or(0);
    assert!(sent > 0 && since > 0, "the mix sent chat and since: {mix}");
    assert_eq!(mix["chat_acked"].as_u64(), Some(sent), "{mix}");
    assert_eq!(mix["since_answered"].as_u64(), Some(since), "{mix}");
    // Every message reached the three other clients of its room.
    assert!(mix["chat_delivered"].as_u64() >= Some(3 * sent), "{mix}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_signing_up_no_socket_gets_in() {
    let server = server().await;
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
    let server = server().await;
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

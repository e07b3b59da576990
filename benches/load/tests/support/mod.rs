//! Servers for the generator's tests, booted in the test process, and the generator binary run
//! against them.

use std::process::Output;

use chatspace::config::Config;
use chatspace::startup::Application;
use tokio_util::sync::CancellationToken;

/// A server on a free port; stopped when dropped.
pub struct Server {
    pub port: u16,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Server {
    /// Starts a server with `config` (its address is replaced by a free port).
    pub async fn start(mut config: Config) -> Self {
        config.bind = "127.0.0.1:0".parse().expect("address");
        let app = Application::build(config).await.expect("server builds");
        let port = app.port();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(app.run_until(async move { stopped.cancelled().await }));
        Server { port, stop }
    }

    /// The socket base URL the generator appends room names to.
    pub fn ws_base(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }
}

/// Runs the generator binary with `args` against the server at `url` (`--url`).
pub async fn generator(url: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chatspace-load"));
    command
        .args(&args[..1])
        .args(["--url", url, "--json"])
        .args(&args[1..]);
    // The server runs on this process's runtime: wait for the generator off it.
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the generator's task")
        .expect("the generator runs")
}

/// The JSON report of a generator that succeeded.
pub fn report(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "the generator failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON report")
}

/// Runs a small signed-up load with the chat mix (2 rooms x 4 clients, 2 writers each) against
/// `url`, with `extra` options, and checks what any such run must show: it converged with every
/// edit delivered (counted from the edits' markers), every chat message was acknowledged and reached the three other clients of
/// its room, and every `since` was answered. Returns the report.
pub async fn mixed_load(url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    let report = report(&generator(url, &args).await);
    assert_eq!(report["converged"], true, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["delivery_ratio"].as_f64() >= Some(0.999), "{report}");
    // Deliveries were counted from the markers, and what each cost is reported.
    assert_eq!(report["counting"], "marker", "{report}");
    for per_edit in ["frames_per_edit", "bytes_per_edit"] {
        assert!(
            report[per_edit].as_f64() > Some(0.0),
            "{per_edit}: {report}"
        );
    }
    assert!(report["generator_cores"].as_u64() >= Some(1), "{report}");
    let mix = &report["mix"];
    let sent = mix["chat_sent"].as_u64().unwrap_or(0);
    let since = mix["since_sent"].as_u64().unwrap_or(0);
    assert!(sent > 0 && since > 0, "the mix sent chat and since: {mix}");
    assert_eq!(mix["chat_acked"].as_u64(), Some(sent), "{mix}");
    assert_eq!(mix["since_answered"].as_u64(), Some(since), "{mix}");
    assert!(mix["chat_delivered"].as_u64() >= Some(3 * sent), "{mix}");
    report
}

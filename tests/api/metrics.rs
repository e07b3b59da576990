//! `/metrics`: the Prometheus text format, on the main listener or on `--metrics-bind`.

use futures_util::SinkExt;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use crate::ws::{open_socket, read_until_close};

/// The value of the sample named `series` (name and labels as printed), 0 when absent. The
/// recorder is the process's, shared by tests running at once: values only grow.
pub async fn sample(app: &TestApp, series: &str) -> f64 {
    app.metric(series).await
}

#[tokio::test]
async fn a_malformed_frame_is_counted_by_its_close_code() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let series = r#"chatspace_socket_closes_total{code="4400"}"#;
    let before = sample(&app, series).await;
    let cookie = alice.cookie_header();
    let mut socket = open_socket(&app.ws_url("notes"), cookie.as_deref(), None).await;
    socket
        .send(Message::Binary(vec![0, 2, 5, 1, 2, 3].into()))
        .await
        .expect("sends");
    assert_eq!(read_until_close(&mut socket).await.0, Some(4400));
    assert!(sample(&app, series).await >= before + 1.0);
    let response = reqwest::get(app.url("/metrics")).await.expect("scrapes");
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
}

#[tokio::test]
async fn with_a_metrics_address_the_main_listener_does_not_serve_them() {
    let app =
        spawn_app_with(|c| c.metrics_bind = Some("127.0.0.1:0".parse().expect("address"))).await;
    let main = reqwest::get(app.url("/metrics")).await.expect("answers");
    assert_eq!(main.status(), StatusCode::NOT_FOUND);
    let port = app.metrics_port.expect("a metrics listener");
    let own = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("answers");
    assert_eq!(own.status(), StatusCode::OK);
    let text = own.text().await.expect("a body");
    assert!(text.contains("chatspace_"), "{text}");
}

//! `/metrics`: the Prometheus text format, on the main listener or on `--metrics-bind`.

use std::time::Duration;

use futures_util::SinkExt;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use crate::ws::{open_socket, read_until_close, WsClient, PATIENCE};

/// The value of the sample named `series` (name and labels as printed), 0 when absent. The
/// recorder is the process's, shared by tests running at once: values only grow.
pub async fn sample(app: &TestApp, series: &str) -> f64 {
    app.metric(series).await
}

#[tokio::test]
async fn a_malformed_frame_is_counted_by_its_close_code_and_as_refused() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register_with_room("alice", "notes").await;
    let series = r#"chatspace_socket_closes_total{code="4400"}"#;
    let refusals = r#"chatspace_socket_messages_refused_total{reason="malformed"}"#;
    let before = sample(&app, series).await;
    let refused_before = sample(&app, refusals).await;
    let cookie = alice.cookie_header();
    let mut socket = open_socket(&app.ws_url("notes"), cookie.as_deref(), None).await;
    socket
        .send(Message::Binary(vec![0, 2, 5, 1, 2, 3].into()))
        .await
        .expect("sends");
    assert_eq!(read_until_close(&mut socket).await.0, Some(4400));
    assert!(sample(&app, series).await >= before + 1.0);
    assert!(sample(&app, refusals).await >= refused_before + 1.0);
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

/// One scrape of `app`'s `/metrics`.
async fn scrape(app: &TestApp) -> String {
    reqwest::get(app.url("/metrics"))
        .await
        .expect("scrapes")
        .text()
        .await
        .expect("a body")
}

/// The sum of the samples of `name` that carry every label of `labels` (whatever their other
/// labels), 0 when there are none.
fn total(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let matches = metric == name
                && labels.iter().all(|(key, wanted)| {
                    label_text
                        .split(',')
                        .any(|pair| pair == format!("{key}=\"{wanted}\""))
                });
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Waits until this server's gauge `name` reads `wanted`.
async fn wait_for_gauge(app: &TestApp, name: &str, wanted: f64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let value = total(&scrape(app).await, name, &[]);
        if value == wanted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed at {value}, not {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_session_is_counted_by_message_type_bytes_and_route_and_its_gauges_come_back_down() {
    // The room unloads one second after its last socket closes.
    let app = spawn_app_with(|c| c.room_idle_secs = 1).await;
    let alice = app.browser();
    let room = "quince-ledger";
    alice.register_with_room("alice", room).await;
    wait_for_gauge(&app, CONNECTIONS, 0.0).await;
    wait_for_gauge(&app, ROOMS, 0.0).await;
    let before = scrape(&app).await;

    let page = alice.get(&format!("/rooms/{room}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let mut client = WsClient::join(&app, &alice, room, 7).await;
    wait_for_gauge(&app, CONNECTIONS, 1.0).await;
    wait_for_gauge(&app, ROOMS, 1.0).await;
    client.insert(0, "hello").await;
    client
        .send_awareness(&[(7, 1, Some(r#"{"user":{"name":"alice"}}"#))])
        .await;
    client.query_awareness().await;
    client.send_chat("m-1", "hi").await;
    assert!(client.pump_until(|c| !c.acks().is_empty()).await);
    let during = scrape(&app).await;

    // Other tests share the process's counters: they may have added to them, never taken away.
    let grew = |name: &str, labels: &[(&str, &str)], by: f64| {
        let (was, is) = (total(&before, name, labels), total(&during, name, labels));
        assert!(is >= was + by, "{name} {labels:?}: {was} -> {is}");
    };
    let received = "chatspace_socket_messages_received_total";
    // The join's and the query's round trip send a step 1 each.
    grew(received, &[("type", "sync_step1")], 2.0);
    grew(received, &[("type", "update")], 1.0);
    grew(received, &[("type", "awareness")], 1.0);
    grew(received, &[("type", "query_awareness")], 1.0);
    grew(received, &[("type", "chat")], 1.0);
    grew("chatspace_socket_received_bytes_total", &[], 5.0);
    grew("chatspace_socket_sent_bytes_total", &[], 5.0);
    let page_route = [("route", "/rooms/{name}"), ("status", "2xx")];
    grew(
        "chatspace_http_request_duration_seconds_count",
        &page_route,
        1.0,
    );
    let socket_route = [("route", "/ws/{name}"), ("status", "1xx")];
    grew(
        "chatspace_http_request_duration_seconds_count",
        &socket_route,
        1.0,
    );
    assert!(!during.contains(room), "a room name is in the scrape");
    assert!(!during.contains("alice"), "a user name is in the scrape");

    client.close().await;
    wait_for_gauge(&app, CONNECTIONS, 0.0).await;
    wait_for_gauge(&app, ROOMS, 0.0).await;
}

const CONNECTIONS: &str = "chatspace_connections_open";
const ROOMS: &str = "chatspace_rooms_live";

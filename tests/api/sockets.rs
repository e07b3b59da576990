//! Who may open a room socket, and what bad input does to it (nothing to anyone else).

use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use crate::helpers::{spawn_app, spawn_app_with, Browser, TestApp};
use crate::ws::{client_frame, open_socket, read_until_close, Socket, WsClient, PATIENCE};

async fn room(app: &TestApp) -> Browser {
    let alice = app.browser();
    alice.register_with_room("alice", "lab").await;
    alice
}

/// A socket to the room `lab` (created here) opened without a session, read until the server
/// closes it: with 4401, and not a byte of the room before.
async fn refused_socket(app: &TestApp) -> Socket {
    room(app).await;
    let mut socket = open_socket(&app.ws_url("lab"), None, None).await;
    let (code, frames) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(4401));
    assert!(frames.is_empty(), "not a byte of the room");
    socket
}

#[tokio::test]
async fn a_socket_without_a_session_receives_nothing_and_is_closed_with_4401() {
    let app = spawn_app().await;
    refused_socket(&app).await;
}

#[tokio::test]
async fn a_refused_socket_stays_open_for_the_close_handshake_and_then_ends_cleanly() {
    // A stock client sends its sync step 1 and awareness as soon as the socket opens, so they
    // can arrive after the server's close frame. A server that drops the socket then makes the
    // kernel answer them with a reset, which can overtake the close frame (the stock client saw
    // 1006 instead of 4401). The server must read until the client's close answer.
    let app = spawn_app().await;
    let mut socket = refused_socket(&app).await;
    let MaybeTlsStream::Plain(tcp) = socket.get_mut() else {
        panic!("a plain TCP socket")
    };
    // Frames the client had on the way when the close frame came: the server still reads them.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tcp.write_all(&client_frame(0x2, &[0, 0, 1, 0]))
            .await
            .expect("the server is still reading");
    }
    // The client's close answer (1000); then the server ends the connection: end of stream.
    tcp.write_all(&client_frame(0x8, &[0x03, 0xe8]))
        .await
        .expect("the server is still reading");
    let mut rest = [0u8; 64];
    let end = tokio::time::timeout(PATIENCE, tcp.read(&mut rest)).await;
    assert!(
        matches!(end, Ok(Ok(0))),
        "the connection ended with {end:?}, not a clean end of stream"
    );
}

#[tokio::test]
async fn a_socket_from_another_origin_receives_nothing_and_is_closed_with_4403() {
    let app = spawn_app().await;
    let alice = room(&app).await;
    let cookie = alice.cookie_header();
    let mut socket = open_socket(
        &app.ws_url("lab"),
        cookie.as_deref(),
        Some("https://evil.example"),
    )
    .await;
    let (code, frames) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(4403));
    assert!(frames.is_empty());
    let own = format!("http://127.0.0.1:{}", app.port);
    let mut socket = open_socket(&app.ws_url("lab"), cookie.as_deref(), Some(&own)).await;
    socket.close(None).await.ok();
}

#[tokio::test]
async fn a_socket_for_an_unknown_room_is_closed_with_4404() {
    let app = spawn_app().await;
    let alice = room(&app).await;
    let mut socket = open_socket(
        &app.ws_url("nowhere"),
        alice.cookie_header().as_deref(),
        None,
    )
    .await;
    let (code, frames) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(4404));
    assert!(frames.is_empty());
}

/// Sends `bad` on one connection and checks that it alone is closed with `want`, while another
/// client in the room keeps editing and receiving.
async fn bad_input_closes_only_that_connection(app: &TestApp, bad: Message, want: u16) {
    let alice = app.browser();
    alice.register_with_room("alice", "lab").await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut good = WsClient::join(app, &alice, "lab", 1).await;
    let mut witness = WsClient::join(app, &bob, "lab", 2).await;
    let mut bad_socket =
        open_socket(&app.ws_url("lab"), bob.cookie_header().as_deref(), None).await;
    bad_socket.send(bad).await.ok();
    let (code, _) = read_until_close(&mut bad_socket).await;
    assert_eq!(code, Some(want));
    good.insert(0, "still fine").await;
    assert!(
        witness.pump_until(|c| c.text() == "still fine").await,
        "the room carries on"
    );
    assert!(good.closed.is_none() && witness.closed.is_none());
}

#[tokio::test]
async fn a_malformed_sync_message_closes_that_connection_with_4400() {
    let app = spawn_app().await;
    // Sync update whose payload claims more bytes than follow.
    bad_input_closes_only_that_connection(&app, Message::binary(vec![0, 2, 200, 1, 1, 2]), 4400)
        .await;
}

#[tokio::test]
async fn an_update_that_is_not_a_yjs_update_closes_with_4400() {
    let app = spawn_app().await;
    bad_input_closes_only_that_connection(
        &app,
        Message::binary(vec![0, 2, 5, 255, 255, 255, 255, 15]),
        4400,
    )
    .await;
}

#[tokio::test]
async fn an_update_whose_text_is_not_utf8_closes_with_4400_and_none_of_it_lands() {
    let app = spawn_app().await;
    // A well-formed update inserting one character at the start of the document, except that
    // the character's byte is not UTF-8. It passes the structural check on the connection;
    // yrs refuses it on the room task. The room's text must stay exactly what the others type.
    let mut update = vec![1, 1, 9, 0, 4, 1, 10];
    update.extend_from_slice(b"colabspace");
    update.extend([1, 0xff, 0]);
    let mut frame = vec![0, 2, update.len() as u8];
    frame.extend(update);
    bad_input_closes_only_that_connection(&app, Message::binary(frame), 4400).await;
}

#[tokio::test]
async fn malformed_chat_closes_with_4400() {
    let app = spawn_app().await;
    let json = br#"{"type":"send","client_id":"bad id with spaces","text":"x"}"#;
    let mut frame = vec![100, json.len() as u8];
    frame.extend_from_slice(json);
    bad_input_closes_only_that_connection(&app, Message::binary(frame), 4400).await;
}

#[tokio::test]
async fn malformed_awareness_closes_with_4400() {
    let app = spawn_app().await;
    // One entry whose state is not JSON.
    bad_input_closes_only_that_connection(
        &app,
        Message::binary(vec![1, 6, 1, 7, 1, 2, b'{', b'x']),
        4400,
    )
    .await;
}

#[tokio::test]
async fn an_unknown_message_type_closes_with_4400() {
    let app = spawn_app().await;
    bad_input_closes_only_that_connection(&app, Message::binary(vec![42, 0]), 4400).await;
}

#[tokio::test]
async fn a_text_frame_closes_with_1003() {
    let app = spawn_app().await;
    bad_input_closes_only_that_connection(&app, Message::text("hello"), 1003).await;
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let app = spawn_app_with(|c| c.max_frame_bytes = 64 * 1024).await;
    bad_input_closes_only_that_connection(&app, Message::binary(vec![0u8; 65 * 1024]), 1009).await;
}

#[tokio::test]
async fn a_flooding_connection_is_closed_with_4429() {
    let app = spawn_app_with(|c| c.rate_limit_messages = 5).await;
    let alice = app.browser();
    alice.register_with_room("alice", "lab").await;
    let mut socket = open_socket(&app.ws_url("lab"), alice.cookie_header().as_deref(), None).await;
    // Query-awareness messages are cheap and valid: only their number is wrong.
    for _ in 0..200 {
        if socket.send(Message::binary(vec![3])).await.is_err() {
            break;
        }
    }
    let (code, _) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(4429));
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_stall_the_others() {
    let app = spawn_app_with(|c| {
        c.send_queue = 64;
        c.rate_limit_messages = 100_000;
    })
    .await;
    let alice = app.browser();
    alice.register_with_room("alice", "lab").await;
    let bob = app.browser();
    bob.register("bob").await;
    let mut writer = WsClient::join(&app, &alice, "lab", 1).await;
    let mut reader = WsClient::join(&app, &bob, "lab", 2).await;
    // Joins and then never reads a byte again.
    let mut stalled = open_socket(&app.ws_url("lab"), bob.cookie_header().as_deref(), None).await;
    // 12.5 MiB in 32 KiB updates: far more than the socket buffers and the stalled client's
    // queue hold. The reading client keeps up, in steps of 20 updates.
    let chunk = "x".repeat(32 * 1024);
    for step in 1..=20u32 {
        for _ in 0..20 {
            writer.insert(0, &chunk).await;
        }
        let want = step * 20 * chunk.len() as u32;
        assert!(
            reader.pump_until(|c| c.text_len() == want).await,
            "the reading client is served at step {step}"
        );
    }
    // The stalled client's queue overflowed: the server closed it (1013: reconnect to resync).
    let (code, _) = read_until_close(&mut stalled).await;
    assert_eq!(code, Some(1013));
    assert!(writer.closed.is_none() && reader.closed.is_none());
}

//! The WebSocket layer of the room socket: the close handshake, frames that break the protocol,
//! pings, and how many sockets one user may hold.

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use crate::helpers::{spawn_app, spawn_app_with, Browser, TestApp};
use crate::ws::{client_frame, open_socket, read_until_close, Socket, WsClient, PATIENCE};

async fn alice_in_lab(app: &TestApp) -> Browser {
    let alice = app.browser();
    alice.register_with_room("alice", "lab").await;
    alice
}

async fn socket_of(app: &TestApp, browser: &Browser, room: &str) -> Socket {
    open_socket(&app.ws_url(room), browser.cookie_header().as_deref(), None).await
}

/// Writes `bytes` straight onto the socket's TCP stream.
async fn write_raw(socket: &mut Socket, bytes: &[u8]) {
    let MaybeTlsStream::Plain(tcp) = socket.get_mut() else {
        panic!("a plain TCP socket")
    };
    tcp.write_all(bytes).await.expect("the server is reading");
}

/// Sends the client's close frame (1000, "bye").
async fn send_close(socket: &mut Socket) {
    socket
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .expect("close frame sent");
}

#[tokio::test]
async fn a_client_that_closes_gets_the_servers_close_frame_back() {
    let app = spawn_app().await;
    let alice = alice_in_lab(&app).await;
    let mut socket = socket_of(&app, &alice, "lab").await;
    send_close(&mut socket).await;
    // Without the server's answer the client only sees the connection end (an error).
    let (code, _) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(1000), "the close handshake is completed");
    assert!(
        matches!(socket.next().await, None | Some(Err(_))),
        "and then the server ends the connection"
    );
}

#[tokio::test]
async fn a_frame_that_breaks_the_websocket_protocol_is_closed_with_1002() {
    let app = spawn_app().await;
    let alice = alice_in_lab(&app).await;
    let mut socket = socket_of(&app, &alice, "lab").await;
    // Opcode 3 is reserved.
    write_raw(&mut socket, &client_frame(0x3, b"x")).await;
    let (code, _) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(1002));
    // The room is unharmed.
    let mut again = WsClient::join(&app, &alice, "lab", 1).await;
    again.roundtrip().await;
}

#[tokio::test]
async fn text_that_is_not_utf8_is_closed_with_1007() {
    let app = spawn_app().await;
    let alice = alice_in_lab(&app).await;
    // A text frame, and a close frame whose reason is not UTF-8.
    for frame in [
        client_frame(0x1, &[b'o', b'k', 0xff]),
        client_frame(0x8, &[0x03, 0xe8, 0xc3, 0x28]),
    ] {
        let mut socket = socket_of(&app, &alice, "lab").await;
        write_raw(&mut socket, &frame).await;
        let (code, _) = read_until_close(&mut socket).await;
        assert_eq!(code, Some(1007), "{frame:?}");
    }
}

#[tokio::test]
async fn a_ping_or_pong_flood_is_closed_with_4429() {
    let app = spawn_app_with(|c| c.rate_limit_messages = 5).await;
    let alice = alice_in_lab(&app).await;
    for flood in [
        Message::Ping(Vec::new().into()),
        Message::Pong(Vec::new().into()),
    ] {
        let mut socket = socket_of(&app, &alice, "lab").await;
        // A burst of 50 passes; 200 at once do not.
        for _ in 0..200 {
            if socket.send(flood.clone()).await.is_err() {
                break;
            }
        }
        let (code, _) = read_until_close(&mut socket).await;
        assert_eq!(code, Some(4429), "{flood:?}");
    }
}

#[tokio::test]
async fn pings_and_the_close_handshake_are_answered_while_the_room_relays_to_the_socket() {
    // The socket's writer and reader are separate tasks: the reader writes the pong out itself,
    // between the writer's frames, whether or not a relay follows it.
    let app = spawn_app().await;
    let alice = alice_in_lab(&app).await;
    let mut writer = WsClient::join(&app, &alice, "lab", 1).await;
    let mut socket = socket_of(&app, &alice, "lab").await;
    let mut relayed = 0;
    for round in 0..=10u8 {
        for _ in 0..5 {
            writer.insert(0, "x").await;
        }
        socket
            .send(Message::Ping(vec![round].into()))
            .await
            .expect("ping");
        // The last ping has nothing relayed after it.
        let after = if round < 10 { 5 } else { 0 };
        for _ in 0..after {
            writer.insert(0, "y").await;
        }
        let answered = tokio::time::timeout(PATIENCE, async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Pong(payload))) if payload[..] == [round][..] => break,
                    Some(Ok(Message::Binary(_))) => relayed += 1,
                    Some(Ok(_)) => {}
                    other => panic!("the socket ended: {other:?}"),
                }
            }
        })
        .await;
        assert!(answered.is_ok(), "ping {round} is answered");
    }
    assert!(relayed > 0, "the room relayed meanwhile");
    // The client's close, with edits relayed to the socket around it: it is answered all the
    // same (once tungstenite has read it, it refuses the writer's frames).
    for _ in 0..5 {
        writer.insert(0, "z").await;
    }
    send_close(&mut socket).await;
    for _ in 0..20 {
        writer.insert(0, "z").await;
    }
    let (code, _) = read_until_close(&mut socket).await;
    assert_eq!(code, Some(1000), "the close handshake is completed");
}

/// Whether the server let the socket in (its first frame is the room's) or refused it (the
/// first is a close frame, whose code is returned).
async fn admission(socket: &mut Socket) -> Result<(), Option<u16>> {
    let first = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .expect("the server answers");
    match first {
        Some(Ok(Message::Binary(_))) => Ok(()),
        Some(Ok(Message::Close(frame))) => Err(frame.map(|f| u16::from(f.code))),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_user_over_the_socket_cap_is_refused_with_4409_in_any_room() {
    let app = spawn_app_with(|c| c.max_sockets_per_user = 2).await;
    let alice = alice_in_lab(&app).await;
    alice.create_room("other").await;
    let first = WsClient::join(&app, &alice, "lab", 1).await;
    let _second = WsClient::join(&app, &alice, "lab", 2).await;
    let mut third = socket_of(&app, &alice, "other").await;
    assert_eq!(admission(&mut third).await, Err(Some(4409)));
    // Another user is not affected.
    let bob = app.browser();
    bob.register("bob").await;
    let mut bobs = WsClient::join(&app, &bob, "lab", 3).await;
    bobs.roundtrip().await;
    // A closed socket frees its place (once the server has finished with it).
    first.close().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut next = socket_of(&app, &alice, "other").await;
        match admission(&mut next).await {
            Ok(()) => break,
            Err(code) => assert_eq!(code, Some(4409)),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

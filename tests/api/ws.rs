//! A Rust y-websocket client for the tests: a real WebSocket (tokio-tungstenite) carrying the
//! session cookie, and a yrs document on the client side, synced the way y-websocket does it.

use std::collections::BTreeMap;
use std::time::Duration;

use chatspace_crdt::codec::client::{
    answer_server_step1, awareness_entries_frame, chat_send_frame, chat_since_frame, client_step1,
    decode_server_frame, query_awareness_frame, ServerMessage,
};
use chatspace_crdt::codec::{update_frame, AwarenessEntry, ChatEvent, ChatMessage};
use chatspace_crdt::{Limits, TEXT_NAME};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Text, TextRef, Transact, Update};

use crate::helpers::{Browser, TestApp};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something the server should do promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Opens a socket with the given cookie and origin headers, without speaking the protocol.
pub async fn open_socket(url: &str, cookie: Option<&str>, origin: Option<&str>) -> Socket {
    let mut request = url.into_client_request().expect("ws request");
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().expect("cookie header"));
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("origin header"));
    }
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket handshake");
    socket
}

/// A masked client frame (mask key 0, so the payload is as given), for writing frames that a
/// WebSocket library would refuse to make straight onto the TCP stream.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "one-byte length");
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Reads until the server closes the socket; returns the close code and every binary frame
/// received before it.
pub async fn read_until_close(socket: &mut Socket) -> (Option<u16>, Vec<Vec<u8>>) {
    let mut frames = Vec::new();
    let deadline = tokio::time::sleep(PATIENCE);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => panic!("the server did not close the socket"),
            message = socket.next() => match message {
                Some(Ok(Message::Binary(bytes))) => frames.push(bytes.to_vec()),
                Some(Ok(Message::Close(frame))) => return (frame.map(|f| u16::from(f.code)), frames),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (None, frames),
            }
        }
    }
}

/// A synced client: its own document, the chat events it received, its socket.
pub struct WsClient {
    pub doc: Doc,
    text: TextRef,
    socket: Socket,
    limits: Limits,
    pub chat: Vec<ChatEvent>,
    pub awareness_frames: usize,
    /// The entries of the last awareness frame received.
    pub last_awareness: Vec<AwarenessEntry>,
    /// Live awareness states by client id, kept from the frames received (newest clock wins).
    pub presence: BTreeMap<u64, String>,
    /// Update messages relayed to this client.
    pub updates_received: usize,
    /// Of them, those that carried some of this client's own edits back to it.
    pub own_echoes: usize,
    /// Whether the server's step 2 (answer to our step 1) has arrived.
    synced: bool,
    /// The role the server last said this connection has (`owner`, `editor`, `viewer`).
    pub role: Option<String>,
    /// Every role frame received, in order.
    pub roles_received: usize,
    /// Permission-denied auth messages received, with their reasons.
    pub denied: Vec<String>,
    /// Sync step 1 messages received from the server (one on joining, one more when promoted).
    pub server_step1s: usize,
    pub closed: Option<Option<u16>>,
}

impl WsClient {
    /// Connects as `browser`'s user with a fresh document and syncs.
    pub async fn join(app: &TestApp, browser: &Browser, room: &str, client_id: u64) -> Self {
        Self::join_with_doc(app, browser, room, Doc::with_client_id(client_id)).await
    }

    /// Connects as `browser`'s user with an existing document (a client coming back) and syncs:
    /// the server's step 1 pulls up what the document has that the server lacks.
    pub async fn join_with_doc(app: &TestApp, browser: &Browser, room: &str, doc: Doc) -> Self {
        let cookie = browser.cookie_header();
        let socket = open_socket(&app.ws_url(room), cookie.as_deref(), None).await;
        let text = doc.get_or_insert_text(TEXT_NAME);
        let mut client = Self {
            doc,
            text,
            socket,
            limits: Limits::default(),
            chat: Vec::new(),
            awareness_frames: 0,
            last_awareness: Vec::new(),
            presence: BTreeMap::new(),
            updates_received: 0,
            own_echoes: 0,
            synced: false,
            role: None,
            roles_received: 0,
            denied: Vec::new(),
            server_step1s: 0,
            closed: None,
        };
        let step1 = client_step1(&client.doc);
        client.send(step1).await;
        assert!(client.pump_until(|c| c.synced).await, "initial sync");
        client
    }

    pub async fn send(&mut self, frame: Vec<u8>) {
        self.socket
            .send(Message::binary(frame))
            .await
            .expect("send frame");
    }

    /// Makes a local edit and sends its update, as a y-websocket client does.
    pub async fn insert(&mut self, index: u32, chunk: &str) {
        let update = {
            let mut txn = self.doc.transact_mut();
            self.text.insert(&mut txn, index, chunk);
            txn.encode_update_v1()
        };
        self.send(update_frame(&update)).await;
    }

    /// Deletes locally and sends the update.
    pub async fn delete(&mut self, index: u32, len: u32) {
        let update = {
            let mut txn = self.doc.transact_mut();
            self.text.remove_range(&mut txn, index, len);
            txn.encode_update_v1()
        };
        self.send(update_frame(&update)).await;
    }

    /// Waits until the server has handled everything this client sent: the room answers a
    /// sync step 1 in order with the client's earlier messages.
    pub async fn roundtrip(&mut self) {
        self.synced = false;
        let step1 = client_step1(&self.doc);
        self.send(step1).await;
        assert!(self.pump_until(|c| c.synced).await, "the server answered");
    }

    /// Sends an awareness update of `(client id, clock, state)` entries.
    pub async fn send_awareness(&mut self, entries: &[(u64, u64, Option<&str>)]) {
        self.send(awareness_entries_frame(entries)).await;
    }

    /// Every awareness state the room holds, as its answer to a query-awareness message.
    pub async fn query_awareness(&mut self) -> Vec<AwarenessEntry> {
        let seen = self.awareness_frames;
        self.send(query_awareness_frame()).await;
        // The answer comes before the answer to this step 1: the room replies in order.
        self.roundtrip().await;
        assert!(self.awareness_frames > seen, "the query was answered");
        std::mem::take(&mut self.last_awareness)
    }

    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    pub fn text_len(&self) -> u32 {
        self.text.len(&self.doc.transact())
    }

    pub async fn send_chat(&mut self, client_id: &str, text: &str) {
        self.send(chat_send_frame(client_id, text)).await;
    }

    pub async fn ask_since(&mut self, after: i64) {
        self.send(chat_since_frame(after)).await;
    }

    /// Messages received as `message` broadcasts.
    pub fn broadcasts(&self) -> Vec<&ChatMessage> {
        self.chat
            .iter()
            .filter_map(|e| {
                if let ChatEvent::Message { message } = e {
                    Some(message)
                } else {
                    None
                }
            })
            .collect()
    }

    /// Messages acknowledged to this client.
    pub fn acks(&self) -> Vec<&ChatMessage> {
        self.chat
            .iter()
            .filter_map(|e| {
                if let ChatEvent::Ack { message } = e {
                    Some(message)
                } else {
                    None
                }
            })
            .collect()
    }

    /// Reads and handles frames until `done` holds (true) or patience runs out (false).
    pub async fn pump_until(&mut self, done: impl Fn(&Self) -> bool) -> bool {
        self.pump_within(PATIENCE, done).await
    }

    /// Reads until the server closes the socket, for at most `within`; the close code (`None`
    /// for a connection dropped without one), or `None` when it is still open after that.
    pub async fn closed_within(&mut self, within: Duration) -> Option<Option<u16>> {
        let deadline = tokio::time::Instant::now() + within;
        while self.closed.is_none() {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return None,
                Ok(message) => self.handle(message).await,
            }
        }
        self.closed
    }

    /// [`Self::pump_until`] with a patience of `within`.
    pub async fn pump_within(&mut self, within: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !done(self) {
            if self.closed.is_some() {
                return false;
            }
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return false,
                Ok(message) => self.handle(message).await,
            }
        }
        true
    }

    async fn handle(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) {
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                let decoded = decode_server_frame(&bytes, &self.limits)
                    .expect("the server sends valid frames");
                match decoded {
                    ServerMessage::SyncStep1(sv) => {
                        self.server_step1s += 1;
                        let answer = answer_server_step1(&self.doc, &sv);
                        self.send(answer).await;
                    }
                    ServerMessage::SyncStep2(update) => {
                        self.apply(&update);
                        self.synced = true;
                    }
                    ServerMessage::Update(update) => {
                        self.updates_received += 1;
                        self.own_echoes += usize::from(self.holds_own_edits(&update));
                        self.apply(&update);
                    }
                    ServerMessage::Awareness(update) => {
                        self.awareness_frames += 1;
                        for entry in &update.entries {
                            match &entry.state {
                                Some(state) => {
                                    self.presence.insert(entry.client_id.get(), state.clone())
                                }
                                None => self.presence.remove(&entry.client_id.get()),
                            };
                        }
                        self.last_awareness = update.entries;
                    }
                    ServerMessage::Chat(event) => match *event {
                        ChatEvent::Role { role } => {
                            self.roles_received += 1;
                            self.role = Some(role);
                        }
                        event => self.chat.push(event),
                    },
                    ServerMessage::Auth(Some(reason)) => self.denied.push(reason),
                    ServerMessage::Auth(None) | ServerMessage::QueryAwareness => {}
                }
            }
            Some(Ok(Message::Close(frame))) => self.closed = Some(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => self.closed = Some(None),
        }
    }

    /// Whether `update` carries items this client wrote.
    fn holds_own_edits(&self, update: &[u8]) -> bool {
        let update = Update::decode_v1(update).expect("the server relays valid updates");
        update.state_vector().get(&self.doc.client_id()) > 0
    }

    fn apply(&mut self, update: &[u8]) {
        let update = Update::decode_v1(update).expect("the server relays valid updates");
        self.doc
            .transact_mut()
            .apply_update(update)
            .expect("update applies");
    }

    /// Closes the socket politely.
    pub async fn close(mut self) -> Doc {
        let _ = self.socket.close(None).await;
        self.doc
    }

    /// Drops the connection without a close handshake, as a lost network does.
    pub fn drop_connection(self) -> Doc {
        self.doc
    }
}

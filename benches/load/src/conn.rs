//! Opening a room socket and talking through it: a tokio-tungstenite WebSocket with Nagle off
//! (edits are tiny and latency is what we measure), an optional cookie, small buffers (the
//! generator holds thousands of sockets), and the [`Channel`] that frames messages.

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::wire::{Channel, Framing, Inbound};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long opening a socket (TCP + WebSocket handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The URL of room `room` under `base` (`ws://host:port/ws` for ChatSpace, `ws://host:port`
/// for the Node servers), the way y-websocket's provider builds it: `base + '/' + room`.
pub fn room_url(base: &str, room: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), room)
}

/// The last path segment of a room URL: the document name for Hocuspocus framing.
pub fn room_of(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

/// "closed by the server with CODE", with what ChatSpace means by the codes a load run can meet
/// (docs/protocol.md).
pub fn closed_with(code: u16) -> String {
    let hint = match code {
        4401 => " (not signed in: pass --sign-up for ChatSpace)",
        4404 => " (no such room: with --sign-up the generator creates its rooms)",
        4409 => " (too many sockets for one user: raise the server's --max-sockets-per-user)",
        4429 => " (too many messages: raise the server's --rate-limit-messages)",
        _ => "",
    };
    format!("closed by the server with {code}{hint}")
}

/// What a received socket message turned out to be.
#[derive(Debug)]
pub enum Received {
    /// A decoded frame.
    Frame(Inbound),
    /// The server closed the socket with this code (1005 when it gave none).
    Closed(u16),
    /// The connection ended without a close frame, or failed.
    Lost(String),
    /// The server sent a frame we cannot decode (a protocol failure).
    Undecodable(String),
}

/// One open room socket.
pub struct Link {
    socket: Socket,
    pub channel: Channel,
    /// Payload bytes of the last binary frame received.
    pub last_len: usize,
}

impl Link {
    /// Opens a socket to `url` and sends the framing's hello.
    pub async fn open(
        url: &str,
        framing: Framing,
        cookie: Option<&str>,
        read_buffer: usize,
    ) -> Result<Self> {
        let mut request = url
            .into_client_request()
            .with_context(|| format!("bad WebSocket URL {url}"))?;
        if let Some(cookie) = cookie {
            request.headers_mut().insert(
                "cookie",
                cookie
                    .parse()
                    .context("the cookie is not a valid header value")?,
            );
        }
        let config = WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .write_buffer_size(0);
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .with_context(|| format!("connecting to {url} timed out"))?
            .with_context(|| format!("failed to connect to {url}"))?;
        let mut link = Link {
            socket,
            channel: Channel::new(framing, room_of(url)),
            last_len: 0,
        };
        for frame in link.channel.hello() {
            link.send_raw(frame).await?;
        }
        Ok(link)
    }

    /// Sends one y-protocols frame (framed for the server).
    pub async fn send(&mut self, frame: Vec<u8>) -> Result<()> {
        let wrapped = self.channel.wrap(frame);
        self.send_raw(wrapped).await
    }

    async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.socket
            .send(Message::binary(bytes))
            .await
            .context("failed to send a frame")
    }

    /// Waits for the next meaningful message (pings and pongs are skipped; tungstenite answers
    /// pings itself). Cancel-safe: it can sit in a `select!`.
    pub async fn recv(&mut self) -> Received {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    self.last_len = bytes.len();
                    return match self.channel.unwrap(&bytes) {
                        Ok(inbound) => Received::Frame(inbound),
                        Err(error) => {
                            Received::Undecodable(format!("undecodable server frame: {error}"))
                        }
                    };
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(frame.map_or(1005, |f| u16::from(f.code)))
                }
                Some(Ok(Message::Text(_))) => {
                    return Received::Lost("the server sent a text frame".into())
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Received::Lost(error.to_string()),
                None => return Received::Lost("connection ended".into()),
            }
        }
    }

    /// Closes politely: sends a close frame and reads until the server's close frame (or the
    /// end), for at most two seconds, before dropping the socket. Dropping a socket that still
    /// has unread data makes the kernel send a reset instead of a FIN, and a reset makes the
    /// server's kernel discard what it has not read yet: the last edits we sent (the Node
    /// servers echo every update back, so there is nearly always something unread).
    pub async fn close(mut self) {
        let handshake = async {
            if self.socket.close(None).await.is_err() {
                return;
            }
            while let Some(Ok(message)) = self.socket.next().await {
                if let Message::Close(_) = message {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), handshake).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_urls_are_built_and_read_back_like_y_websocket_does() {
        assert_eq!(room_url("ws://h:1/ws", "r-1"), "ws://h:1/ws/r-1");
        assert_eq!(room_url("ws://h:1/", "r"), "ws://h:1/r");
        assert_eq!(room_of("ws://h:1/ws/r-1"), "r-1");
        assert_eq!(room_of("ws://h:1/ws/r-1?x=1"), "r-1");
    }
}

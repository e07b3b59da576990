//! `chatspace-load client`: one scriptable y-websocket client for the Node interop suite. JSON
//! commands come in on stdin, one per line; JSON events go out on stdout, one per line. The
//! document is a full yrs `Doc` with UTF-16 indices, so positions mean what they mean in Yjs,
//! and it outlives the socket: edits made while disconnected flow up on the next `connect`
//! (our answer to the server's sync step 1 carries them).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use chatspace_crdt::codec::client::ServerMessage;
use chatspace_crdt::codec::update_frame;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::conn::{Link, Received};
use crate::replica::FullDoc;
use crate::wire::{Framing, Inbound};

/// Arguments of the `client` subcommand.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// Room socket URL, e.g. ws://127.0.0.1:8000/ws/ROOM.
    #[arg(long)]
    pub url: String,
    /// Cookie header to send, e.g. "chatspace_session=...".
    #[arg(long)]
    pub cookie: Option<String>,
    /// yrs client id of the document (random when not given).
    #[arg(long)]
    pub client_id: Option<u64>,
    /// Server dialect.
    #[arg(long, value_enum, default_value_t = Framing::YWebsocket)]
    pub framing: Framing,
}

/// One stdin command.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Op {
    Insert { index: u32, text: String },
    Delete { index: u32, len: u32 },
    Text,
    Disconnect,
    Connect,
    Quit,
}

/// One stdout event; the `event` tag comes first on the line.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Event<'a> {
    Synced { text: String },
    Text { text: String },
    Disconnected,
    Closed { code: u16 },
    Error { message: &'a str },
}

/// Prints one event line. A closed stdout is ignored: stdin's end stops us soon after.
fn emit(event: Event<'_>) {
    let Ok(line) = serde_json::to_string(&event) else {
        return;
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn emit_error(message: impl std::fmt::Display) {
    emit(Event::Error {
        message: &message.to_string(),
    });
}

/// Progress of the sync handshake of the current connection.
#[derive(Default)]
struct Handshake {
    got_step2: bool,
    sent_step2: bool,
    reported: bool,
}

struct Session {
    args: ClientArgs,
    doc: FullDoc,
    link: Option<Link>,
    handshake: Handshake,
}

pub async fn run(args: ClientArgs) -> ExitCode {
    // Yjs client ids are 53-bit (they must fit a JavaScript number).
    let id = args
        .client_id
        .unwrap_or_else(|| u64::from(rand::random::<u32>()));
    let id = yrs::ClientID::new(id & ((1 << 53) - 1));
    let mut session = Session {
        doc: FullDoc::new(id),
        link: None,
        handshake: Handshake::default(),
        args,
    };
    if let Err(error) = session.connect().await {
        emit_error(format!("{error:#}"));
        return ExitCode::FAILURE;
    }
    let mut commands = stdin_lines();
    loop {
        tokio::select! {
            line = commands.recv() => {
                let Some(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Op>(&line) {
                    Ok(Op::Quit) => break,
                    Ok(op) => session.command(op).await,
                    Err(error) => emit_error(format!("bad command {line:?}: {error}")),
                }
            }
            received = next(&mut session.link) => {
                if let Err(error) = session.received(received).await {
                    emit_error(error);
                    return ExitCode::from(2);
                }
            }
        }
    }
    if let Some(link) = session.link.take() {
        link.close().await;
    }
    ExitCode::SUCCESS
}

/// The next message of the socket, or never when there is none.
async fn next(link: &mut Option<Link>) -> Received {
    match link {
        Some(link) => link.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads stdin on a plain thread (blocking reads do not belong on the runtime) and hands over
/// the lines; the channel closes at end of input.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Session {
    async fn connect(&mut self) -> anyhow::Result<()> {
        if let Some(old) = self.link.take() {
            old.close().await;
        }
        let cookie = self.args.cookie.as_deref();
        let mut link = Link::open(&self.args.url, self.args.framing, cookie, 64 * 1024).await?;
        self.handshake = Handshake::default();
        link.send(self.doc.step1()).await?;
        self.link = Some(link);
        Ok(())
    }

    async fn command(&mut self, op: Op) {
        match op {
            Op::Insert { index, text } => self.edit(&[(index, 0, &text)]).await,
            Op::Delete { index, len } => self.edit(&[(index, len, "")]).await,
            Op::Text => emit(Event::Text {
                text: self.doc.text(),
            }),
            Op::Disconnect => {
                if let Some(link) = self.link.take() {
                    link.close().await;
                }
                emit(Event::Disconnected);
            }
            Op::Connect => {
                if let Err(error) = self.connect().await {
                    emit_error(format!("{error:#}"));
                }
            }
            Op::Quit => {}
        }
    }

    /// A local edit: always applied to the document, sent when connected.
    async fn edit(&mut self, patches: &[(u32, u32, &str)]) {
        let update = match self.doc.splice(patches, false) {
            Ok(update) => update,
            Err(error) => return emit_error(error),
        };
        if let Some(link) = self.link.as_mut() {
            if link.send(update_frame(&update)).await.is_err() {
                self.lost();
            }
        }
    }

    fn lost(&mut self) {
        self.link = None;
        emit(Event::Disconnected);
    }

    /// Handles what the socket delivered. An error here is a protocol failure: we exit.
    async fn received(&mut self, received: Received) -> Result<(), String> {
        let message = match received {
            Received::Frame(Inbound::Message(message)) => message,
            Received::Frame(Inbound::Denied(reason)) => {
                emit_error(format!("permission denied: {reason}"));
                return Ok(());
            }
            Received::Frame(_) => return Ok(()),
            Received::Closed(code) => {
                self.link = None;
                emit(Event::Closed { code });
                return Ok(());
            }
            Received::Lost(_) => {
                self.lost();
                return Ok(());
            }
            Received::Undecodable(reason) => {
                self.lost();
                return Err(reason);
            }
        };
        match message {
            ServerMessage::SyncStep1(sv) => {
                let answer = self.doc.answer(&sv);
                if let Some(link) = self.link.as_mut() {
                    if link.send(answer).await.is_err() {
                        self.lost();
                        return Ok(());
                    }
                }
                self.handshake.sent_step2 = true;
            }
            ServerMessage::SyncStep2(update) => {
                self.doc.integrate(&update)?;
                self.handshake.got_step2 = true;
            }
            ServerMessage::Update(update) => {
                self.doc.integrate(&update)?;
            }
            ServerMessage::Auth(Some(reason)) => emit_error(format!("permission denied: {reason}")),
            _ => {}
        }
        let h = &mut self.handshake;
        if h.got_step2 && h.sent_step2 && !h.reported {
            h.reported = true;
            emit(Event::Synced {
                text: self.doc.text(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_from_json_lines() {
        let op = |s: &str| serde_json::from_str::<Op>(s);
        assert_eq!(
            op(r#"{"op":"insert","index":3,"text":"hé"}"#).unwrap(),
            Op::Insert {
                index: 3,
                text: "hé".into()
            }
        );
        assert_eq!(
            op(r#"{"op":"delete","index":0,"len":2}"#).unwrap(),
            Op::Delete { index: 0, len: 2 }
        );
        assert_eq!(op(r#"{"op":"quit"}"#).unwrap(), Op::Quit);
        assert!(op(r#"{"op":"insert","index":-1,"text":""}"#).is_err());
        assert!(op(r#"{"op":"explode"}"#).is_err());
    }
}

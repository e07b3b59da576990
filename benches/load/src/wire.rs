//! What goes on the wire besides the y-protocols frames the `chatspace-crdt` codec builds and
//! decodes: the Hocuspocus envelope. Hocuspocus 4 (`@hocuspocus/server`, `OutgoingMessage.ts`
//! and `ClientConnection.ts`) prefixes every message, both ways, with the document name as a
//! lib0 varString, wants an auth message (`[name][2][0 = Token][varString token]`) before it
//! lets a socket into the document, answers it with `[name][2][2 = Authenticated][scope]`,
//! acknowledges each update with a SyncStatus message (type 8), and sends its own sync step 1
//! in answer to the client's rather than on connect.

use chatspace_crdt::codec::client::{decode_server_frame, ServerMessage};
use chatspace_crdt::codec::lib0::{Reader, Writer};
use chatspace_crdt::{DecodeError, Limits};

/// Which server dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// Plain y-protocols frames (ChatSpace, y-websocket's `bin/server.cjs`).
    YWebsocket,
    /// Every frame prefixed with the document name, plus the Hocuspocus auth handshake.
    Hocuspocus,
}

/// Hocuspocus message types outside y-protocols (`packages/server/src/types.ts`).
const HP_AUTH: u64 = 2;
const HP_SYNC_REPLY: u64 = 4;
const HP_STATELESS: u64 = 5;
const HP_CLOSE: u64 = 7;
const HP_SYNC_STATUS: u64 = 8;
/// Hocuspocus auth sub-types (`@hocuspocus/common`, `AuthMessageType`).
const HP_AUTH_TOKEN: u64 = 0;
const HP_AUTH_DENIED: u64 = 1;
const HP_AUTH_GRANTED: u64 = 2;

/// A frame from the server, framing removed.
#[derive(Debug)]
pub enum Inbound {
    /// A y-protocols message (sync, awareness, chat, ...).
    Message(ServerMessage),
    /// Hocuspocus let us into the document.
    Authenticated,
    /// Hocuspocus refused us (the reason it gave).
    Denied(String),
    /// Hocuspocus asks us to close (its CLOSE message).
    CloseRequested(String),
    /// Something we do not act on (Hocuspocus sync status, stateless messages).
    Ignored,
}

/// One document's channel on a socket: wraps outgoing frames and unwraps incoming ones.
#[derive(Debug, Clone)]
pub struct Channel {
    framing: Framing,
    doc_name: String,
    limits: Limits,
}

impl Channel {
    pub fn new(framing: Framing, doc_name: &str) -> Self {
        Channel {
            framing,
            doc_name: doc_name.to_owned(),
            limits: Limits::default(),
        }
    }

    /// Frames to send right after the socket opens, before the sync step 1.
    pub fn hello(&self) -> Vec<Vec<u8>> {
        match self.framing {
            Framing::YWebsocket => Vec::new(),
            Framing::Hocuspocus => {
                // Any token passes a Hocuspocus server without an onAuthenticate hook.
                let mut frame = Writer::with_capacity(self.doc_name.len() + 12);
                frame
                    .string(&self.doc_name)
                    .var_u64(HP_AUTH)
                    .var_u64(HP_AUTH_TOKEN)
                    .string("load");
                vec![frame.into_vec()]
            }
        }
    }

    /// Wraps one y-protocols frame for this server.
    pub fn wrap(&self, frame: Vec<u8>) -> Vec<u8> {
        match self.framing {
            Framing::YWebsocket => frame,
            Framing::Hocuspocus => {
                let mut out = Writer::with_capacity(self.doc_name.len() + 2 + frame.len());
                out.string(&self.doc_name).raw(&frame);
                out.into_vec()
            }
        }
    }

    /// Unwraps and decodes one server frame. Errors describe what was wrong.
    pub fn unwrap(&self, bytes: &[u8]) -> Result<Inbound, String> {
        let body = match self.framing {
            Framing::YWebsocket => bytes,
            Framing::Hocuspocus => match self.envelope(bytes).map_err(|e| e.to_string())? {
                Envelope::Done(inbound) => return Ok(inbound),
                Envelope::SyncReply(rest) => {
                    // A sync message under another type number: decode it as type 0.
                    let mut frame = vec![0];
                    frame.extend_from_slice(rest);
                    return decode_server_frame(&frame, &self.limits)
                        .map(Inbound::Message)
                        .map_err(|e| e.to_string());
                }
                Envelope::Body(rest) => rest,
            },
        };
        decode_server_frame(body, &self.limits)
            .map(Inbound::Message)
            .map_err(|e| e.to_string())
    }

    /// Reads the Hocuspocus envelope: the document name, then either a Hocuspocus message of
    /// its own or a y-protocols frame.
    fn envelope<'a>(&self, bytes: &'a [u8]) -> Result<Envelope<'a>, DecodeError> {
        let mut r = Reader::new(bytes);
        // A session-aware server answers `name\0session`; we never ask for sessions.
        let name = r.string()?.split('\0').next().unwrap_or_default();
        if name != self.doc_name {
            return Ok(Envelope::Done(Inbound::Ignored));
        }
        let rest = bytes.get(r.position()..).unwrap_or_default();
        let inbound = match r.var_u64()? {
            HP_AUTH => match r.var_u64()? {
                HP_AUTH_GRANTED => Inbound::Authenticated,
                HP_AUTH_DENIED => Inbound::Denied(r.string()?.to_owned()),
                other => return Err(DecodeError::UnknownAuthType(other)),
            },
            HP_SYNC_STATUS | HP_STATELESS => Inbound::Ignored,
            HP_CLOSE => Inbound::CloseRequested(r.string()?.to_owned()),
            HP_SYNC_REPLY => {
                let after = bytes.get(r.position()..).unwrap_or_default();
                return Ok(Envelope::SyncReply(after));
            }
            _ => return Ok(Envelope::Body(rest)),
        };
        Ok(Envelope::Done(inbound))
    }
}

/// What the Hocuspocus envelope held.
enum Envelope<'a> {
    /// A Hocuspocus message, understood.
    Done(Inbound),
    /// A sync message sent as Hocuspocus's sync reply (type 4): the bytes after the type.
    SyncReply(&'a [u8]),
    /// A y-protocols frame, type included.
    Body(&'a [u8]),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatspace_crdt::codec::{sync_step1_frame, update_frame};

    #[test]
    fn y_websocket_frames_pass_through_unchanged() {
        let channel = Channel::new(Framing::YWebsocket, "room");
        let frame = update_frame(&[0, 0]);
        assert_eq!(channel.wrap(frame.clone()), frame);
        assert!(channel.hello().is_empty());
        assert!(matches!(
            channel.unwrap(&frame),
            Ok(Inbound::Message(ServerMessage::Update(_)))
        ));
    }

    #[test]
    fn hocuspocus_frames_carry_the_document_name_both_ways() {
        let channel = Channel::new(Framing::Hocuspocus, "doc-1");
        let wrapped = channel.wrap(sync_step1_frame(&Default::default()));
        assert_eq!(&wrapped[..6], b"\x05doc-1");
        assert!(matches!(
            channel.unwrap(&wrapped),
            Ok(Inbound::Message(ServerMessage::SyncStep1(_)))
        ));
        assert_eq!(channel.hello(), vec![b"\x05doc-1\x02\x00\x04load".to_vec()]);
    }

    #[test]
    fn hocuspocus_auth_status_and_foreign_documents_are_recognised() {
        let channel = Channel::new(Framing::Hocuspocus, "d");
        let granted = b"\x01d\x02\x02\x0aread-write";
        assert!(matches!(
            channel.unwrap(granted),
            Ok(Inbound::Authenticated)
        ));
        let denied = b"\x01d\x02\x01\x02no";
        assert!(matches!(channel.unwrap(denied), Ok(Inbound::Denied(r)) if r == "no"));
        assert!(matches!(
            channel.unwrap(b"\x01d\x08\x01"),
            Ok(Inbound::Ignored)
        ));
        assert!(matches!(
            channel.unwrap(b"\x01e\x00\x00\x00"),
            Ok(Inbound::Ignored)
        ));
    }

    #[test]
    fn truncated_envelopes_are_errors_not_panics() {
        let channel = Channel::new(Framing::Hocuspocus, "doc");
        for bad in [
            &b""[..],
            b"\x05do",
            b"\x03doc",
            b"\x03doc\x02",
            b"\x03doc\xff",
        ] {
            assert!(channel.unwrap(bad).is_err(), "{bad:?}");
        }
    }
}

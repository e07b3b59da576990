//! What goes on the wire besides the y-protocols frames the `chatspace-crdt` codec builds and
//! decodes: the Hocuspocus envelope. Hocuspocus 4 (`@hocuspocus/server`, `OutgoingMessage.ts`
//! and `ClientConnection.ts`) prefixes every message, both ways, with the document name as a
//! lib0 varString, wants an auth message (`[name][2][0 = Token][varString token]`) before it
//! lets a socket into the document, answers it with `[name][2][2 = Authenticated][scope]`,
//! acknowledges each update with a SyncStatus message (type 8), and sends its own sync step 1
//! in answer to the client's rather than on connect.

use chatspace_crdt::codec::client::{decode_server_frame, ServerMessage};
use chatspace_crdt::Limits;

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
                let mut frame = Vec::with_capacity(self.doc_name.len() + 12);
                put_string(&mut frame, &self.doc_name);
                put_uint(&mut frame, HP_AUTH);
                put_uint(&mut frame, HP_AUTH_TOKEN);
                put_string(&mut frame, "load");
                vec![frame]
            }
        }
    }

    /// Wraps one y-protocols frame for this server.
    pub fn wrap(&self, frame: Vec<u8>) -> Vec<u8> {
        match self.framing {
            Framing::YWebsocket => frame,
            Framing::Hocuspocus => {
                let mut out = Vec::with_capacity(self.doc_name.len() + 2 + frame.len());
                put_string(&mut out, &self.doc_name);
                out.extend_from_slice(&frame);
                out
            }
        }
    }

    /// Unwraps and decodes one server frame. Errors describe what was wrong.
    pub fn unwrap(&self, bytes: &[u8]) -> Result<Inbound, String> {
        let body = match self.framing {
            Framing::YWebsocket => bytes,
            Framing::Hocuspocus => {
                let mut r = Cursor { buf: bytes, pos: 0 };
                let name = r.string()?;
                // A session-aware server answers `name\0session`; we never ask for sessions.
                let name = name.split('\0').next().unwrap_or_default();
                if name != self.doc_name {
                    return Ok(Inbound::Ignored);
                }
                let rest = r.rest();
                let mut peek = Cursor { buf: rest, pos: 0 };
                match peek.uint()? {
                    HP_AUTH => {
                        return match peek.uint()? {
                            HP_AUTH_GRANTED => Ok(Inbound::Authenticated),
                            HP_AUTH_DENIED => Ok(Inbound::Denied(peek.string()?.to_owned())),
                            other => Err(format!("unexpected Hocuspocus auth message {other}")),
                        };
                    }
                    HP_SYNC_STATUS | HP_STATELESS => return Ok(Inbound::Ignored),
                    HP_CLOSE => return Ok(Inbound::CloseRequested(peek.string()?.to_owned())),
                    HP_SYNC_REPLY => {
                        // A sync message under another type number: decode it as type 0.
                        let mut frame = vec![0];
                        frame.extend_from_slice(peek.rest());
                        return decode_server_frame(&frame, &self.limits)
                            .map(Inbound::Message)
                            .map_err(|e| e.to_string());
                    }
                    _ => rest,
                }
            }
        };
        decode_server_frame(body, &self.limits)
            .map(Inbound::Message)
            .map_err(|e| e.to_string())
    }
}

/// lib0 varUint.
fn put_uint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// lib0 varString: varUint byte length, then UTF-8.
fn put_string(out: &mut Vec<u8>, text: &str) {
    put_uint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// A bounds-checked reader for the few lib0 fields of the envelope.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn uint(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or("truncated varUint")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err("varUint longer than 64 bits".into())
    }

    fn string(&mut self) -> Result<&'a str, String> {
        let len = usize::try_from(self.uint()?).map_err(|_| "string length overflows")?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.buf.len())
            .ok_or("string runs past the frame")?;
        let text = std::str::from_utf8(&self.buf[self.pos..end]).map_err(|e| e.to_string())?;
        self.pos = end;
        Ok(text)
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
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

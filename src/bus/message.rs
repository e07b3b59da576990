//! What travels on a room's stream (and on the node-wide control stream), and how it is laid
//! out in a stream entry's fields: `n` the publishing node, `k` the kind, `d` the bytes (a user
//! id in decimal for the session notices), `s` an update's sequence number.

use std::collections::HashMap;

use bytes::Bytes;
use redis::Value;
use sha2::{Digest, Sha256};
use tower_sessions::session::Id;

/// What a room publishes for the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A document update one of the room's clients sent (Yjs v1), as stored: log entry `seq`.
    Update { seq: i64, data: Bytes },
    /// Some of this node's notices for the room were lost while Redis was away (what they were
    /// about is stored): catch up from the database.
    Refetch,
    /// An awareness frame the room relayed to its own clients.
    Awareness(Bytes),
    /// A chat frame (a stored message) the room broadcast to its own clients.
    Chat(Bytes),
    /// Who may use the room changed (visibility, default role, a membership): every socket of
    /// the room re-checks its user's role from the database.
    Access,
    /// The room was deleted: its sockets close and its task stops without saving.
    Deleted,
    /// Control stream: a session of this user ended (logout); every socket of the user checks
    /// that its own session is still stored.
    SessionEnded { user_id: i64 },
    /// Control stream: every session of this user ended (password change, account deletion),
    /// except that `renewed` names (by [`session_digest`]) the session a password was changed
    /// in, which lives on under a new id: its sockets reconnect rather than sign out.
    UserEnded {
        user_id: i64,
        renewed: Option<SessionDigest>,
    },
}

/// A session id as it may travel between nodes: its SHA-256, never the bearer secret itself.
pub type SessionDigest = [u8; 32];

/// The digest of session `id` (of its text form, as the cookie carries it).
pub fn session_digest(id: &Id) -> SessionDigest {
    Sha256::digest(id.to_string().as_bytes()).into()
}

/// What a room receives from the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A notice another node (`from`) published.
    Notice { from: String, notice: Notice },
    /// This node's reader lost Redis for a while: notices may have been missed.
    Reconnected,
    /// A node stopped refreshing its liveness key: it is gone, and so are its clients.
    NodeGone(String),
}

impl Notice {
    /// The entry's fields.
    pub(super) fn fields<'a>(&'a self, node: &'a str) -> Vec<(&'static str, Vec<u8>)> {
        let mut fields = vec![("n", node.as_bytes().to_vec())];
        match self {
            Notice::Update { seq, data } => fields.extend([
                ("k", b"u".to_vec()),
                ("s", seq.to_string().into_bytes()),
                ("d", data.to_vec()),
            ]),
            Notice::Refetch => fields.push(("k", b"r".to_vec())),
            Notice::Awareness(data) => fields.extend([("k", b"a".to_vec()), ("d", data.to_vec())]),
            Notice::Chat(data) => fields.extend([("k", b"c".to_vec()), ("d", data.to_vec())]),
            Notice::Access => fields.push(("k", b"x".to_vec())),
            Notice::Deleted => fields.push(("k", b"g".to_vec())),
            Notice::SessionEnded { user_id } => fields.extend([
                ("k", b"e".to_vec()),
                ("d", user_id.to_string().into_bytes()),
            ]),
            Notice::UserEnded { user_id, renewed } => {
                fields.extend([
                    ("k", b"o".to_vec()),
                    ("d", user_id.to_string().into_bytes()),
                ]);
                fields.extend(renewed.map(|digest| ("h", digest.to_vec())));
            }
        }
        fields
    }

    /// Reads an entry's fields back: the publishing node and the notice. `None` for an entry
    /// this version does not understand (a newer node's), which is skipped.
    pub(super) fn parse(mut fields: HashMap<String, Value>) -> Option<(String, Notice)> {
        let mut take = |name: &str| match fields.remove(name) {
            Some(Value::BulkString(bytes)) => Some(bytes),
            _ => None,
        };
        let node = String::from_utf8(take("n")?).ok()?;
        let number = |bytes: Vec<u8>| std::str::from_utf8(&bytes).ok()?.parse::<i64>().ok();
        let notice = match take("k")?.as_slice() {
            b"u" => Notice::Update {
                seq: number(take("s")?)?,
                data: Bytes::from(take("d")?),
            },
            b"r" => Notice::Refetch,
            b"a" => Notice::Awareness(Bytes::from(take("d")?)),
            b"c" => Notice::Chat(Bytes::from(take("d")?)),
            b"x" => Notice::Access,
            b"g" => Notice::Deleted,
            b"e" => Notice::SessionEnded {
                user_id: number(take("d")?)?,
            },
            b"o" => Notice::UserEnded {
                user_id: number(take("d")?)?,
                renewed: take("h").and_then(|digest| digest.try_into().ok()),
            },
            _ => return None,
        };
        Some((node, notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(notice: Notice) -> Option<(String, Notice)> {
        let fields = notice
            .fields("node-a")
            .into_iter()
            .map(|(name, value)| (name.to_owned(), Value::BulkString(value)))
            .collect();
        Notice::parse(fields)
    }

    #[test]
    fn every_notice_reads_back_as_written() {
        for notice in [
            Notice::Update {
                seq: 7,
                data: Bytes::from_static(&[1, 2, 3]),
            },
            Notice::Refetch,
            Notice::Awareness(Bytes::from_static(b"\x01\x02")),
            Notice::Chat(Bytes::from_static(b"{}")),
            Notice::Access,
            Notice::Deleted,
            Notice::SessionEnded { user_id: 42 },
            Notice::UserEnded {
                user_id: 7,
                renewed: None,
            },
            Notice::UserEnded {
                user_id: 8,
                renewed: Some([3; 32]),
            },
        ] {
            assert_eq!(round_trip(notice.clone()), Some(("node-a".into(), notice)));
        }
    }

    #[test]
    fn an_entry_of_an_unknown_kind_or_missing_fields_is_skipped() {
        let mut fields: HashMap<String, Value> = HashMap::new();
        fields.insert("n".into(), Value::BulkString(b"node-b".to_vec()));
        fields.insert("k".into(), Value::BulkString(b"z".to_vec()));
        assert_eq!(Notice::parse(fields.clone()), None);
        fields.insert("k".into(), Value::BulkString(b"u".to_vec()));
        fields.insert("s".into(), Value::BulkString(b"x".to_vec()));
        fields.insert("d".into(), Value::BulkString(b"\x00\x00".to_vec()));
        assert_eq!(Notice::parse(fields), None);
    }
}

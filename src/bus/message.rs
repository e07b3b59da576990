//! What travels on a room's stream, and how it is laid out in a stream entry's fields: `n` the
//! publishing node, `k` the kind, `d` the bytes, `f` and `l` the first and last sequence number
//! of a `stored` notice, `r` when that range must be fetched from the database.

use std::collections::HashMap;

use bytes::Bytes;
use redis::Value;

/// What a room publishes for the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A document update one of the room's clients sent, as applied (Yjs v1).
    Update(Bytes),
    /// This node stored the room's log entries `first..=last` (none when `last` is 0), whose
    /// updates it published before. With `refetch`, some of its notices for the room were lost
    /// while Redis was away: catch up from the database.
    Stored {
        first: i64,
        last: i64,
        refetch: bool,
    },
    /// An awareness frame the room relayed to its own clients.
    Awareness(Bytes),
    /// A chat frame (a stored message) the room broadcast to its own clients.
    Chat(Bytes),
}

/// What a room receives from the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A notice another node published.
    Notice(Notice),
    /// This node's reader lost Redis for a while: notices may have been missed.
    Reconnected,
}

impl Notice {
    /// The entry's fields.
    pub(super) fn fields<'a>(&'a self, node: &'a str) -> Vec<(&'static str, Vec<u8>)> {
        let mut fields = vec![("n", node.as_bytes().to_vec())];
        match self {
            Notice::Update(data) => fields.extend([("k", b"u".to_vec()), ("d", data.to_vec())]),
            Notice::Awareness(data) => fields.extend([("k", b"a".to_vec()), ("d", data.to_vec())]),
            Notice::Chat(data) => fields.extend([("k", b"c".to_vec()), ("d", data.to_vec())]),
            Notice::Stored {
                first,
                last,
                refetch,
            } => {
                fields.extend([
                    ("k", b"s".to_vec()),
                    ("f", first.to_string().into_bytes()),
                    ("l", last.to_string().into_bytes()),
                ]);
                if *refetch {
                    fields.push(("r", b"1".to_vec()));
                }
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
            b"u" => Notice::Update(Bytes::from(take("d")?)),
            b"a" => Notice::Awareness(Bytes::from(take("d")?)),
            b"c" => Notice::Chat(Bytes::from(take("d")?)),
            b"s" => Notice::Stored {
                first: number(take("f")?)?,
                last: number(take("l")?)?,
                refetch: take("r").is_some(),
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
            Notice::Update(Bytes::from_static(&[1, 2, 3])),
            Notice::Awareness(Bytes::from_static(b"\x01\x02")),
            Notice::Chat(Bytes::from_static(b"{}")),
            Notice::Stored {
                first: 7,
                last: 9,
                refetch: false,
            },
            Notice::Stored {
                first: 1,
                last: 1,
                refetch: true,
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
        fields.insert("k".into(), Value::BulkString(b"s".to_vec()));
        fields.insert("f".into(), Value::BulkString(b"x".to_vec()));
        fields.insert("l".into(), Value::BulkString(b"2".to_vec()));
        assert_eq!(Notice::parse(fields), None);
    }
}

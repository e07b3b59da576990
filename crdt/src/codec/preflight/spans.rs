//! What the walk keeps of the client sections it met: where each one's content lies on its
//! client's clock ([`Span`]), and which clients it has seen.

use std::collections::HashSet;

/// Where the content (blocks other than skips) of one client section lies on its client's
/// clock. yrs integrates a block whose predecessors of the same client are missing right away,
/// leaving a hole, unless the block depends on a missing item (origin, right origin, parent);
/// Yjs keeps every such block pending until its predecessors arrive. The server's document and
/// every client's would differ, and if the hole is later filled by its real owner, yrs mixes
/// the two; an update over the edge of a hole can also make yrs free an item it still uses
/// (docs/reliability.md). So the room refuses a section whose content neither follows on from
/// what the room has integrated of that client nor has its own missing predecessor as origin,
/// which makes yrs wait for it as Yjs does (see `RoomDoc::apply_updates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub client: u64,
    /// The clock the room must have reached for this client: the start of the section's last
    /// run of content that a skip (or the section's start) precedes.
    pub needs: u32,
    /// That run starts with an item whose origin is the clock just before it, of its own
    /// client: yrs holds it pending until that predecessor is there.
    pub chained: bool,
    /// The clock after the section's last content.
    pub end: u32,
}

/// The [`Span`]s of an update, in order. Most updates have one, kept without allocating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Spans {
    first: Option<Span>,
    rest: Vec<Span>,
}

impl Spans {
    pub(super) fn push(&mut self, span: Span) {
        match self.first {
            None => self.first = Some(span),
            Some(_) => self.rest.push(span),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Span> {
        self.first.iter().chain(&self.rest)
    }
}
/// Client ids already met in one update; most updates hold one client, so the first id is
/// kept without allocating.
#[derive(Default)]
pub(super) struct ClientSet {
    first: Option<u64>,
    rest: Option<HashSet<u64>>,
}

impl ClientSet {
    /// Adds `client`; false when it was already there.
    pub(super) fn insert(&mut self, client: u64) -> bool {
        match self.first {
            None => {
                self.first = Some(client);
                true
            }
            Some(first) if first == client => false,
            Some(_) => self.rest.get_or_insert_with(HashSet::new).insert(client),
        }
    }
}

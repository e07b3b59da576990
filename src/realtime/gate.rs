//! What a connection's role lets through to its room, decided on the connection's own task
//! before anything is queued to the room: an editor's messages pass untouched (one comparison);
//! a viewer's document changes and chat sends are dropped here and answered here.

use bytes::Bytes;
use chatspace_crdt::codec::{
    chat_frame, permission_denied_frame, ChatEvent, ChatRejection, ChatRequest,
};
use chatspace_crdt::ClientMessage;
use tokio::sync::mpsc;

use super::handle::Outbound;
use crate::metrics::Refusal;
use crate::rooms::access::Role;

/// The reason in the permission-denied message.
const READ_ONLY: &str = "read-only: you are a viewer in this room";

pub(super) struct Gate {
    role: Role,
    /// Whether the client was told (once per connection) that its document changes are dropped.
    told: bool,
    /// The connection's send queue, for the answers; weak, so that the room alone keeps it open.
    replies: mpsc::WeakSender<Outbound>,
}

impl Gate {
    pub fn new(role: Role, replies: mpsc::WeakSender<Outbound>) -> Self {
        Self {
            role,
            told: false,
            replies,
        }
    }

    /// Takes the user's role as just read; whether it changed.
    pub fn set_role(&mut self, role: Role) -> bool {
        std::mem::replace(&mut self.role, role) != role
    }

    /// The message, when the connection's role lets it through to the room. A viewer's sync
    /// step 2 or update is dropped (the first one that carries anything is answered with the
    /// y-protocols permission-denied message), and its chat `send` is answered with `rejected`
    /// (`forbidden`), and so are its `edit` and `delete`. Everything else (sync step 1, awareness, chat `since`) passes.
    pub fn pass(&mut self, message: ClientMessage) -> Option<ClientMessage> {
        if self.role.can_edit() {
            return Some(message);
        }
        match message {
            ClientMessage::SyncStep2(update) | ClientMessage::Update(update) => {
                // A client with nothing new still answers the server's step 1.
                if !update.is_empty() {
                    crate::metrics::refused(Refusal::ReadOnly);
                    if !self.told {
                        self.told = self.reply(permission_denied_frame(READ_ONLY));
                    }
                }
                None
            }
            ClientMessage::Chat(ChatRequest::Send { client_id, .. })
            | ClientMessage::ChatRefused { client_id, .. } => {
                self.forbid(client_id, None);
                None
            }
            ClientMessage::Chat(ChatRequest::Edit { id, .. } | ChatRequest::Delete { id })
            | ClientMessage::ChatChangeRefused { id, .. } => {
                self.forbid(String::new(), Some(id));
                None
            }
            other => Some(other),
        }
    }

    /// Answers a viewer's chat `send` (by `client_id`), `edit` or `delete` (by `id`) with
    /// `rejected` / `forbidden`.
    fn forbid(&self, client_id: String, id: Option<i64>) {
        crate::metrics::refused(Refusal::ReadOnly);
        let refused = ChatEvent::Rejected {
            client_id,
            id,
            reason: ChatRejection::Forbidden,
        };
        self.reply(chat_frame(&refused));
    }

    /// Queues `frame` for the client; false when the queue is full or gone (the room closes a
    /// connection that falls that far behind anyway).
    fn reply(&self, frame: Vec<u8>) -> bool {
        self.replies
            .upgrade()
            .is_some_and(|out| out.try_send(Outbound::Frame(Bytes::from(frame))).is_ok())
    }
}

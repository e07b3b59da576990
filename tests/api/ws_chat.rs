//! The test client's side of chat edits and deletions: requests, and the events they produce.

use chatspace_crdt::codec::client::{chat_changes_since_frame, chat_delete_frame, chat_edit_frame};
use chatspace_crdt::codec::{ChatEvent, ChatMessage, ChatRejection};

use crate::ws::WsClient;

impl WsClient {
    pub async fn edit_chat(&mut self, id: i64, text: &str) {
        self.send(chat_edit_frame(id, text)).await;
    }

    pub async fn delete_chat(&mut self, id: i64) {
        self.send(chat_delete_frame(id)).await;
    }

    /// `since` by change counter: every message stored, edited or deleted after `changes`.
    pub async fn ask_changes_since(&mut self, after: i64, changes: i64) {
        self.send(chat_changes_since_frame(after, changes)).await;
    }

    /// Messages received as `updated` broadcasts.
    pub fn updates(&self) -> Vec<&ChatMessage> {
        self.chat
            .iter()
            .filter_map(|e| match e {
                ChatEvent::Updated { message } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Changes acknowledged to this client (`update_ack`).
    pub fn update_acks(&self) -> Vec<&ChatMessage> {
        self.chat
            .iter()
            .filter_map(|e| match e {
                ChatEvent::UpdateAck { message } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Refused edits and deletions: the message id and the reason.
    pub fn change_rejections(&self) -> Vec<(i64, ChatRejection)> {
        self.chat
            .iter()
            .filter_map(|e| match e {
                ChatEvent::Rejected {
                    id: Some(id),
                    reason,
                    ..
                } => Some((*id, *reason)),
                _ => None,
            })
            .collect()
    }

    /// The messages of every `history` received, in order.
    pub fn history(&self) -> Vec<&ChatMessage> {
        self.chat
            .iter()
            .filter_map(|e| match e {
                ChatEvent::History { messages, .. } => Some(messages),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Sends a message and waits for its ack: the stored message.
    pub async fn post(&mut self, client_id: &str, text: &str) -> ChatMessage {
        self.send_chat(client_id, text).await;
        let acked = |c: &WsClient| c.acks().iter().any(|m| m.client_id == client_id);
        assert!(self.pump_until(acked).await, "{client_id} acknowledged");
        let acks = self.acks();
        let found = acks.iter().find(|m| m.client_id == client_id);
        (*found.expect("acknowledged")).clone()
    }
}

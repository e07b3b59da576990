//! Chat on the room socket: a message is validated, stored with the author and time from the
//! session and the server clock, then acknowledged to the sender and broadcast to the others.
//! A resend of the same client id is acknowledged again and not stored or broadcast twice.
//! An author's `edit` or `delete` of their own message is stored with the room's next change
//! counter, acknowledged (`update_ack`) and broadcast (`updated`) the same way.

use bytes::Bytes;
use chatspace_crdt::codec::{
    chat_frame, validate_text, ChatAnchor, ChatEvent, ChatMessage, ChatRejection, ChatRequest,
    DecodedAnchor, HISTORY_PAGE,
};
use chatspace_crdt::{Limits, RoomDoc};

use super::mentions;
use crate::auth::CurrentUser;
use crate::store::{ChangeOutcome, MessageChange, NewMessage, Store};

/// Messages per `history` reply.
const HISTORY_BATCH: i64 = HISTORY_PAGE as i64;

/// The frames a chat request produces.
#[derive(Default)]
pub struct ChatReplies {
    pub to_sender: Option<Bytes>,
    pub to_others: Option<Bytes>,
    /// The database failed: the request cannot be answered as the protocol promises (an ack
    /// means stored, every `since` gets one `history`), so the sender's socket is closed with
    /// 1013; its client reconnects, catches up and sends again.
    pub failed: bool,
}

impl ChatReplies {
    fn failed() -> Self {
        ChatReplies {
            failed: true,
            ..ChatReplies::default()
        }
    }
}

fn frame(event: &ChatEvent) -> Option<Bytes> {
    Some(Bytes::from(chat_frame(event)))
}

/// The `rejected` frame for a `send`, counted as a refused chat message.
fn rejected(client_id: String, reason: ChatRejection) -> Option<Bytes> {
    rejection(client_id, None, reason)
}

/// The `rejected` frame naming a `send` (`client_id`) or an `edit`/`delete` (`id`), counted as
/// a refused chat request.
fn rejection(client_id: String, id: Option<i64>, reason: ChatRejection) -> Option<Bytes> {
    crate::metrics::refused(crate::metrics::Refusal::ChatRejected);
    frame(&ChatEvent::Rejected {
        client_id,
        id,
        reason,
    })
}

/// The `rejected` (`invalid_anchor`) frame for a `send` whose anchor does not decode or names
/// items the room's document does not hold; `None` for anything else.
pub fn anchor_refused(doc: &RoomDoc, request: &ChatRequest) -> Option<Bytes> {
    let ChatRequest::Send {
        client_id,
        anchor: Some(anchor),
        ..
    } = request
    else {
        return None;
    };
    match anchor.decode() {
        Ok(decoded) if doc.holds_anchor(&decoded) => None,
        _ => rejected(client_id.clone(), ChatRejection::InvalidAnchor),
    }
}

/// The text and the decoded anchor of a `send`, or why it is refused.
fn checked_send(
    text: &str,
    anchor: Option<&ChatAnchor>,
) -> Result<Option<DecodedAnchor>, ChatRejection> {
    validate_text(text, &Limits::default())?;
    anchor.map(ChatAnchor::decode).transpose()
}

pub async fn handle(
    store: &Store,
    room_id: i64,
    author: &CurrentUser,
    request: ChatRequest,
) -> ChatReplies {
    match request {
        ChatRequest::Send {
            client_id,
            text,
            anchor,
        } => {
            let anchor = match checked_send(&text, anchor.as_ref()) {
                Ok(anchor) => anchor,
                Err(reason) => {
                    return ChatReplies {
                        to_sender: rejected(client_id, reason),
                        ..ChatReplies::default()
                    }
                }
            };
            let Some(mentions) = mentioned(store, room_id, &text).await else {
                return ChatReplies::failed();
            };
            let new = NewMessage {
                room_id,
                author_id: author.id,
                client_id: &client_id,
                text: &text,
                anchor: anchor.as_ref(),
                mentions: &mentions,
            };
            match store.insert_message(&new).await {
                Ok((row, inserted)) => {
                    let message = ChatMessage::from(&row);
                    let to_others = if inserted {
                        frame(&ChatEvent::Message {
                            message: message.clone(),
                        })
                    } else {
                        None
                    };
                    ChatReplies {
                        to_sender: frame(&ChatEvent::Ack { message }),
                        to_others,
                        ..ChatReplies::default()
                    }
                }
                Err(error) => {
                    // No ack: the client keeps the message in its outbox and sends it again.
                    tracing::error!(%error, "storing a chat message failed");
                    ChatReplies::failed()
                }
            }
        }
        ChatRequest::Edit { id, text } => {
            if let Err(reason) = validate_text(&text, &Limits::default()) {
                return refused(id, reason);
            }
            let Some(mentions) = mentioned(store, room_id, &text).await else {
                return ChatReplies::failed();
            };
            let edit = MessageChange::Edit {
                text: &text,
                mentions: &mentions,
            };
            change(store, room_id, author, id, edit).await
        }
        ChatRequest::Delete { id } => {
            change(store, room_id, author, id, MessageChange::Delete).await
        }
        ChatRequest::Since {
            after,
            changes_after,
        } => {
            // One more than a page says whether there is more.
            let rows = match changes_after {
                Some(changes) => {
                    store
                        .messages_changed_after(room_id, changes, HISTORY_BATCH + 1)
                        .await
                }
                None => {
                    store
                        .messages_after(room_id, after, HISTORY_BATCH + 1)
                        .await
                }
            };
            history(rows)
        }
    }
}

/// The `history` answering a `since`, from up to one more row than a page.
fn history(rows: sqlx::Result<Vec<crate::store::MessageRow>>) -> ChatReplies {
    match rows {
        Ok(mut rows) => {
            let more = rows.len() > HISTORY_BATCH as usize;
            rows.truncate(HISTORY_BATCH as usize);
            let messages = rows.iter().map(ChatMessage::from).collect();
            ChatReplies {
                to_sender: frame(&ChatEvent::History { messages, more }),
                ..ChatReplies::default()
            }
        }
        Err(error) => {
            tracing::error!(%error, "reading chat history failed");
            ChatReplies::failed()
        }
    }
}

/// `rejected` for an `edit` or `delete` of message `id`.
fn refused(id: i64, reason: ChatRejection) -> ChatReplies {
    ChatReplies {
        to_sender: rejection(String::new(), Some(id), reason),
        ..ChatReplies::default()
    }
}

/// The members `text` mentions, as stored (usernames separated by spaces); `None` (logged) when
/// the database failed.
async fn mentioned(store: &Store, room_id: i64, text: &str) -> Option<String> {
    let candidates = mentions::candidates(text);
    match store.mentionable(room_id, &candidates).await {
        Ok(mut names) => {
            // In the order the text names them.
            names.sort_by_key(|name| {
                let name = name.to_ascii_lowercase();
                candidates.iter().position(|c| *c == name)
            });
            Some(names.join(" "))
        }
        Err(error) => {
            tracing::error!(%error, "looking up mentioned users failed");
            None
        }
    }
}

/// Stores an author's edit or deletion of message `id` and says who hears of it.
async fn change(
    store: &Store,
    room_id: i64,
    author: &CurrentUser,
    id: i64,
    change: MessageChange<'_>,
) -> ChatReplies {
    match store.change_message(room_id, author.id, id, change).await {
        Ok(ChangeOutcome::Changed(row)) => {
            let message = ChatMessage::from(&row);
            ChatReplies {
                to_others: frame(&ChatEvent::Updated {
                    message: message.clone(),
                }),
                to_sender: frame(&ChatEvent::UpdateAck { message }),
                ..ChatReplies::default()
            }
        }
        // A repeated deletion (a resend after a reconnect) is acknowledged, not broadcast again.
        Ok(ChangeOutcome::AlreadyDeleted(row)) => ChatReplies {
            to_sender: frame(&ChatEvent::UpdateAck {
                message: ChatMessage::from(&row),
            }),
            ..ChatReplies::default()
        },
        Ok(ChangeOutcome::NotFound) => refused(id, ChatRejection::NotFound),
        Ok(ChangeOutcome::NotYours) => refused(id, ChatRejection::NotYours),
        Ok(ChangeOutcome::Deleted) => refused(id, ChatRejection::Deleted),
        Err(error) => {
            tracing::error!(%error, "changing a chat message failed");
            ChatReplies::failed()
        }
    }
}

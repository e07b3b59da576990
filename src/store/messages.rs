//! Queries on `messages`: chat history, written before it is broadcast.

use sqlx::FromRow;

use chatspace_crdt::codec::{ChatAnchor, ChatMessage, DecodedAnchor};

use super::{with_pool, Store};
use crate::clock::{now_millis, rfc3339};

/// A stored chat message, with the author's name joined in.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    pub client_id: String,
    pub author: String,
    pub text: String,
    /// Unix milliseconds, server clock.
    pub sent_at: i64,
    /// Unix milliseconds of the last edit or of the deletion.
    pub edited_at: Option<i64>,
    /// Unix milliseconds of the deletion (the text is then empty).
    pub deleted_at: Option<i64>,
    /// The room's change counter at the message's last insert, edit or deletion.
    pub change_seq: i64,
    /// Mentioned members' usernames, separated by spaces.
    pub mentions: String,
    /// The anchor's encoded start position, when the message comments on a passage.
    pub anchor_start: Option<Vec<u8>>,
    /// The anchor's encoded end position.
    pub anchor_end: Option<Vec<u8>>,
    /// The quoted passage.
    pub anchor_quote: Option<String>,
}

impl MessageRow {
    /// The anchor, when the message has one (all three columns are set).
    fn anchor(&self) -> Option<ChatAnchor> {
        match (&self.anchor_start, &self.anchor_end, &self.anchor_quote) {
            (Some(start), Some(end), Some(quote)) => {
                Some(ChatAnchor::from_stored(start, end, quote))
            }
            _ => None,
        }
    }
}

/// The message as clients see it, on the socket and in the history endpoint.
impl From<&MessageRow> for ChatMessage {
    fn from(row: &MessageRow) -> Self {
        ChatMessage {
            id: row.id,
            client_id: row.client_id.clone(),
            author: row.author.clone(),
            text: row.text.clone(),
            sent_at: rfc3339(row.sent_at),
            anchor: row.anchor(),
            edited_at: row.edited_at.map(rfc3339),
            deleted: row.deleted_at.is_some(),
            change: row.change_seq,
            mentions: row.mentions.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

/// What a sender asks to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub room_id: i64,
    pub author_id: i64,
    pub client_id: &'a str,
    pub text: &'a str,
    /// The passage the message comments on, checked.
    pub anchor: Option<&'a DecodedAnchor>,
    /// Mentioned members' usernames, separated by spaces.
    pub mentions: &'a str,
}

pub(super) const ROW_COLUMNS: &str = "SELECT messages.id, messages.client_id, \
     users.username AS author, messages.text, messages.sent_at, messages.edited_at, \
     messages.deleted_at, messages.change_seq, messages.mentions, messages.anchor_start, \
     messages.anchor_end, messages.anchor_quote \
     FROM messages JOIN users ON users.id = messages.author_id";

/// The room's next change counter (`$1` is the room), for an insert or an update of
/// `messages`; the room's writes take turns (see [`Store::insert_message`]).
pub(super) const NEXT_CHANGE: &str =
    "(SELECT COALESCE(MAX(change_seq), 0) + 1 FROM messages WHERE room_id = $1)";

impl Store {
    /// Stores a message unless this author already sent one with this `client_id` in this room.
    /// Returns the stored row and whether it is new (false for a resend).
    ///
    /// Clients read history by id and by change counter (`since`), so a room's ids and change
    /// counters must become visible in order. On PostgreSQL the room's row is locked first: the
    /// nodes storing chat for one room take turns, and no id or change commits after a higher
    /// one. A SQLite write transaction already excludes
    /// every other writer.
    pub async fn insert_message(
        &self,
        message: &NewMessage<'_>,
    ) -> sqlx::Result<(MessageRow, bool)> {
        let lock_room = self.room_lock();
        let select = format!(
            "{ROW_COLUMNS} WHERE messages.room_id = $1 AND messages.author_id = $2 AND messages.client_id = $3"
        );
        let insert = format!(
            "INSERT INTO messages (room_id, author_id, client_id, text, sent_at, mentions, \
             anchor_start, anchor_end, anchor_quote, change_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {NEXT_CHANGE}) \
             ON CONFLICT (room_id, author_id, client_id) DO NOTHING"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(lock_room) = lock_room {
                sqlx::query(lock_room)
                    .bind(message.room_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let inserted = sqlx::query(&insert)
            .bind(message.room_id)
            .bind(message.author_id)
            .bind(message.client_id)
            .bind(message.text)
            .bind(now_millis())
            .bind(message.mentions)
            .bind(message.anchor.map(|a| a.start.as_slice()))
            .bind(message.anchor.map(|a| a.end.as_slice()))
            .bind(message.anchor.map(|a| a.quote.as_str()))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let row = sqlx::query_as(&select)
                .bind(message.room_id)
                .bind(message.author_id)
                .bind(message.client_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((row, inserted))
        })
    }

    /// Up to `limit` messages with an id above `after`, oldest first.
    pub async fn messages_after(
        &self,
        room_id: i64,
        after: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<MessageRow>> {
        self.messages_above("id", room_id, after, limit).await
    }

    /// Up to `limit` messages whose change counter is above `after`, in change order: the ones
    /// stored, edited or deleted since the client saw change `after`.
    pub async fn messages_changed_after(
        &self,
        room_id: i64,
        after: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<MessageRow>> {
        self.messages_above("change_seq", room_id, after, limit)
            .await
    }

    /// Up to `limit` messages whose `column` (`id` or `change_seq`) is above `after`, in its
    /// order.
    async fn messages_above(
        &self,
        column: &str,
        room_id: i64,
        after: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<MessageRow>> {
        let sql = format!(
            "{ROW_COLUMNS} WHERE messages.room_id = $1 AND messages.{column} > $2 \
             ORDER BY messages.{column} LIMIT $3"
        );
        with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(room_id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)
    }

    /// Up to `limit` of the newest messages with an id below `before` (all when `None`), oldest
    /// first.
    pub async fn messages_before(
        &self,
        room_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<Vec<MessageRow>> {
        let sql = format!(
            "{ROW_COLUMNS} WHERE messages.room_id = $1 AND messages.id < $2 ORDER BY messages.id DESC LIMIT $3"
        );
        let mut rows: Vec<MessageRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(room_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.reverse();
        Ok(rows)
    }
}

//! Edits and deletions of chat messages, and which `@username`s of a text name room members.
//! Only the author changes a message; a deletion erases its text from the database.

use super::messages::{MessageRow, NEXT_CHANGE, ROW_COLUMNS};
use super::{with_pool, Store};
use crate::clock::now_millis;

/// What an author asks to change.
#[derive(Debug, Clone, Copy)]
pub enum MessageChange<'a> {
    /// New text and the members it mentions (usernames separated by spaces).
    Edit {
        text: &'a str,
        mentions: &'a str,
    },
    Delete,
}

/// How a change went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Stored: the message as it now is.
    Changed(MessageRow),
    /// A deletion of a message already deleted: nothing changed.
    AlreadyDeleted(MessageRow),
    /// No message with that id in the room.
    NotFound,
    /// The message is someone else's.
    NotYours,
    /// An edit of a deleted message.
    Deleted,
}

impl Store {
    /// Applies `change` to message `id` of the room when `author_id` wrote it and it is not
    /// deleted, giving it the room's next change counter. The update is the transaction's first
    /// statement, so that SQLite takes its write lock at once (on PostgreSQL the room's row is
    /// locked first, as for an insert); only when it changed nothing is the row read to say why.
    pub async fn change_message(
        &self,
        room_id: i64,
        author_id: i64,
        id: i64,
        change: MessageChange<'_>,
    ) -> sqlx::Result<ChangeOutcome> {
        let lock_room = self.room_lock();
        let set = match change {
            MessageChange::Edit { .. } => "text = $5, mentions = $6",
            // The quoted passage is the author's words too: it goes with the text.
            MessageChange::Delete => {
                "text = '', mentions = '', anchor_start = NULL, anchor_end = NULL, \
                 anchor_quote = NULL, deleted_at = $4"
            }
        };
        let (text, mentions) = match change {
            MessageChange::Edit { text, mentions } => (text, mentions),
            MessageChange::Delete => ("", ""),
        };
        let update = format!(
            "UPDATE messages SET {set}, edited_at = $4, change_seq = {NEXT_CHANGE} \
             WHERE room_id = $1 AND id = $2 AND author_id = $3 AND deleted_at IS NULL"
        );
        let select = format!("{ROW_COLUMNS} WHERE messages.room_id = $1 AND messages.id = $2");
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(lock_room) = lock_room {
                sqlx::query(lock_room).bind(room_id).execute(&mut *tx).await?;
            }
            let mut query = sqlx::query(&update)
                .bind(room_id)
                .bind(id)
                .bind(author_id)
                .bind(now_millis());
            if let MessageChange::Edit { .. } = change {
                query = query.bind(text).bind(mentions);
            }
            let changed = query.execute(&mut *tx).await?.rows_affected() == 1;
            let state: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT author_id, deleted_at FROM messages WHERE room_id = $1 AND id = $2",
            )
            .bind(room_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match (state, change) {
                (None, _) => ChangeOutcome::NotFound,
                (Some((owner, _)), _) if owner != author_id => ChangeOutcome::NotYours,
                (Some(_), MessageChange::Edit { .. }) if !changed => ChangeOutcome::Deleted,
                (Some(_), _) => {
                    let row = sqlx::query_as(&select)
                        .bind(room_id)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                    if changed {
                        ChangeOutcome::Changed(row)
                    } else {
                        ChangeOutcome::AlreadyDeleted(row)
                    }
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// Of `candidates` (lowercase), the usernames, as spelled at sign-up and in no particular
    /// order, of the users who may open the room: its members and, in a public room, every account. Deleted accounts are
    /// never mentioned.
    pub async fn mentionable(
        &self,
        room_id: i64,
        candidates: &[String],
    ) -> sqlx::Result<Vec<String>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let list = (0..candidates.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT users.username FROM users WHERE lower(users.username) IN ({list}) \
             AND users.deleted_at IS NULL AND (EXISTS (SELECT 1 FROM room_members \
             WHERE room_members.room_id = $1 AND room_members.user_id = users.id) \
             OR EXISTS (SELECT 1 FROM rooms WHERE rooms.id = $1 AND rooms.visibility = 'public'))"
        );
        with_pool!(self, pool => {
            let mut query = sqlx::query_scalar(&sql).bind(room_id);
            for candidate in candidates {
                query = query.bind(candidate);
            }
            query.fetch_all(pool).await
        })
    }
}

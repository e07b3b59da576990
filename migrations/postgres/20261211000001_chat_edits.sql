-- Chat edits and deletions (issue 21). `edited_at` is the time of the last edit or of the
-- deletion, `deleted_at` the time of the deletion (the text is then erased: ''). `change_seq`
-- is the room's change counter: every insert, edit and deletion of a room's message sets it to
-- one more than the room's highest, so a client that was away asks for everything above the
-- highest it saw (`since` with `changes_after`). Existing messages take their id, which already
-- grows within each room. `mentions` holds the usernames of room members the text mentions as
-- `@username`, separated by spaces.
ALTER TABLE messages ADD COLUMN edited_at BIGINT; -- unix milliseconds
ALTER TABLE messages ADD COLUMN deleted_at BIGINT; -- unix milliseconds
ALTER TABLE messages ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
UPDATE messages SET change_seq = id;
CREATE INDEX messages_by_change ON messages (room_id, change_seq);

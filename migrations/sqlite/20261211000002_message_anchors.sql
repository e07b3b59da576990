-- Anchored comments: a chat message may comment on a passage of the room's text. The passage is
-- two encoded Yjs relative positions (the start and end of the selection, which survive edits
-- around them) and the text quoted when the comment was written. All three are set, or none.
ALTER TABLE messages ADD COLUMN anchor_start BLOB;
ALTER TABLE messages ADD COLUMN anchor_end BLOB;
ALTER TABLE messages ADD COLUMN anchor_quote TEXT;

-- A deleted account stays as a tombstone row, so that its messages, versions and room history
-- keep an author: `deleted_at` is set, the password is cleared and the name becomes
-- `deleted user #ID`, which no one can register (a space and `#`), so the old name is free
-- again.
ALTER TABLE users ADD COLUMN deleted_at INTEGER; -- unix milliseconds

-- Which user each signed-in session belongs to (the session store keeps its data opaque), so
-- that a password change or an account's deletion can end every other session of the user.
-- Rows of sessions that ended on their own are harmless and removed when the user's sessions
-- are next ended.
CREATE TABLE user_sessions (
    session_id TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at INTEGER NOT NULL -- unix milliseconds
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);

-- Who sent each logged update and when it was stored (NULL for updates logged before this
-- migration), and where log entries go that a room can no longer replay: they are kept with
-- their sender, their times and the reason, never deleted silently.
ALTER TABLE doc_updates ADD COLUMN author_id INTEGER REFERENCES users (id);
ALTER TABLE doc_updates ADD COLUMN stored_at INTEGER; -- unix milliseconds

CREATE TABLE doc_quarantine (
    room_id        INTEGER NOT NULL REFERENCES rooms (id),
    seq            INTEGER NOT NULL, -- its place in the room's log
    data           BLOB    NOT NULL, -- the Yjs update v1, as the client sent it
    author_id      INTEGER REFERENCES users (id),
    stored_at      INTEGER,          -- unix milliseconds, when it was logged
    quarantined_at INTEGER NOT NULL, -- unix milliseconds
    reason         TEXT    NOT NULL,
    PRIMARY KEY (room_id, seq)
);

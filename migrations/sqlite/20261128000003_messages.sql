-- Chat. `client_id` is chosen by the sending client; the unique key makes a resend idempotent.
CREATE TABLE messages (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    client_id TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    sent_at   INTEGER NOT NULL, -- unix milliseconds, server clock
    UNIQUE (room_id, author_id, client_id)
);
CREATE INDEX messages_by_room ON messages (room_id, id);

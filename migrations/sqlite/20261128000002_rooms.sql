-- Rooms. Names are unique whatever their letter case.
CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL -- unix milliseconds
);
CREATE INDEX rooms_by_age ON rooms (created_at DESC, id DESC);

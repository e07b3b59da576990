-- The whole schema on PostgreSQL, as the SQLite migrations leave it. Times are unix
-- milliseconds (BIGINT) on both backends.

-- Accounts. Names are unique whatever their letter case; the password is an argon2id PHC string.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_by_lower_name ON users (lower(username));

-- Rooms. Names are unique whatever their letter case. `doc_seq` is the last sequence number
-- given to the room's update log; taking the next ones locks the row, so the nodes that append
-- to one room's log take turns.
CREATE TABLE rooms (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    doc_seq    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rooms_by_lower_name ON rooms (lower(name));
CREATE INDEX rooms_by_age ON rooms (created_at DESC, id DESC);

-- Chat. `client_id` is chosen by the sending client; the unique key makes a resend idempotent.
CREATE TABLE messages (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id   BIGINT NOT NULL REFERENCES rooms (id),
    author_id BIGINT NOT NULL REFERENCES users (id),
    client_id TEXT   NOT NULL,
    text      TEXT   NOT NULL,
    sent_at   BIGINT NOT NULL,
    UNIQUE (room_id, author_id, client_id)
);
CREATE INDEX messages_by_room ON messages (room_id, id);

-- The colabspace of each room: a snapshot plus the log of updates applied since. Loading a
-- room = snapshot + every update with seq > upto_seq.
CREATE TABLE doc_snapshots (
    room_id    BIGINT PRIMARY KEY REFERENCES rooms (id),
    format     BIGINT NOT NULL, -- 1 = Yjs update v1, 2 = Yjs update v2
    data       BYTEA  NOT NULL,
    upto_seq   BIGINT NOT NULL, -- the last log entry folded into this snapshot
    updated_at BIGINT NOT NULL
);
CREATE TABLE doc_updates (
    room_id   BIGINT NOT NULL REFERENCES rooms (id),
    seq       BIGINT NOT NULL,
    data      BYTEA  NOT NULL, -- one Yjs update v1, as the client sent it
    author_id BIGINT REFERENCES users (id),
    stored_at BIGINT,
    PRIMARY KEY (room_id, seq)
);
-- Log entries a room could no longer replay, with their sender, times and the reason.
CREATE TABLE doc_quarantine (
    room_id        BIGINT NOT NULL REFERENCES rooms (id),
    seq            BIGINT NOT NULL,
    data           BYTEA  NOT NULL,
    author_id      BIGINT REFERENCES users (id),
    stored_at      BIGINT,
    quarantined_at BIGINT NOT NULL,
    reason         TEXT   NOT NULL,
    PRIMARY KEY (room_id, seq)
);

-- Sessions, shared by every node, so that a cookie one node issued is valid on all of them. The
-- columns are those of tower-sessions-sqlx-store's PostgresStore; created here rather than by
-- the store, so that nodes starting at once do not race to create it.
CREATE TABLE tower_sessions (
    id          TEXT        PRIMARY KEY NOT NULL,
    data        BYTEA       NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);

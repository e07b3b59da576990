-- Versions of each room's text: saved automatically when editing goes quiet (and every so often
-- while it goes on), by hand with a name, and before a restore or an import. `state` is the
-- whole document as one Yjs v1 update, so a version can be exported as the CRDT too; `upto_seq`
-- is the room's log position it covers. Text and state are stored deflate-compressed (`chars`
-- is the text's length in characters). Versions live apart from the log and its snapshots, so
-- compaction never touches them.
CREATE TABLE doc_versions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id    BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('auto', 'named', 'before_restore', 'before_import')),
    name       TEXT,
    created_at BIGINT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    upto_seq   BIGINT NOT NULL,
    chars      BIGINT NOT NULL,
    text       BYTEA NOT NULL,
    state      BYTEA NOT NULL
);
CREATE INDEX doc_versions_by_room ON doc_versions (room_id, created_at DESC, id DESC);
-- Nodes saving automatic versions at once: one per room and log position.
CREATE UNIQUE INDEX doc_versions_auto ON doc_versions (room_id, upto_seq) WHERE kind = 'auto';

-- Who contributed to each version since the one before it.
CREATE TABLE doc_version_authors (
    version_id BIGINT NOT NULL REFERENCES doc_versions (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (version_id, user_id)
);

-- The last log entry each user wrote in each room and when: who edited since a version, and
-- when a room's editing went quiet, even after compaction has folded the log into a snapshot.
CREATE TABLE doc_authors (
    room_id  BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX doc_authors_by_time ON doc_authors (last_at);

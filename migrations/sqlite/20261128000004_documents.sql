-- The colabspace of each room: a snapshot (the whole document, encoded by the room task) plus
-- the log of updates applied since. Loading a room = snapshot + every update with seq > upto_seq.
CREATE TABLE doc_snapshots (
    room_id    INTEGER PRIMARY KEY REFERENCES rooms (id),
    format     INTEGER NOT NULL, -- 1 = Yjs update v1, 2 = Yjs update v2
    data       BLOB    NOT NULL,
    upto_seq   INTEGER NOT NULL, -- the last log entry folded into this snapshot
    updated_at INTEGER NOT NULL  -- unix milliseconds
);
CREATE TABLE doc_updates (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq     INTEGER NOT NULL,
    data    BLOB    NOT NULL, -- one Yjs update v1, as the client sent it
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

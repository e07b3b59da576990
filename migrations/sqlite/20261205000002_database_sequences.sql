-- A room's update log is numbered by the database, not by the node that writes it, so that
-- several writers can never hand out the same number: `doc_seq` is the last number given out.
ALTER TABLE rooms ADD COLUMN doc_seq INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET doc_seq = MAX(
    COALESCE((SELECT MAX(seq) FROM doc_updates WHERE room_id = rooms.id), 0),
    COALESCE((SELECT upto_seq FROM doc_snapshots WHERE room_id = rooms.id), 0),
    COALESCE((SELECT MAX(seq) FROM doc_quarantine WHERE room_id = rooms.id), 0)
);

-- Names are looked up as lower(name), the one spelling both backends index.
CREATE INDEX users_by_lower_name ON users (lower(username));
CREATE INDEX rooms_by_lower_name ON rooms (lower(name));

-- The ids of deleted rooms. PostgreSQL's identity never hands an id out twice; the table is kept
-- on both backends so that deleting a room is the same transaction on each (on SQLite it keeps a
-- new room from taking a deleted room's id).
CREATE TABLE deleted_rooms (
    id         BIGINT PRIMARY KEY,
    deleted_at BIGINT NOT NULL -- unix milliseconds
);

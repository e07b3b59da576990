-- The ids of deleted rooms. A new room never takes the id of a deleted one: SQLite would
-- otherwise hand out the largest id again once its room is gone, and whatever still knows a room
-- by its id (a room task saving its last edits, a client's socket) would reach the new room.
CREATE TABLE deleted_rooms (
    id         INTEGER PRIMARY KEY,
    deleted_at INTEGER NOT NULL -- unix milliseconds
);

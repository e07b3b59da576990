-- Login throttling and the registration limit count here rather than in each node's memory, so
-- that every node sharing the database sees the same counts. `subject` names what is counted
-- (`account:<lowercase name>`, `address:<ip>`, `signup:<ip>`); `hits` counts its events since
-- the count started; the count starts over at `resets_at` unless the subject is locked, which it
-- is until `locked_until` once `hits` reached its limit. A row whose times have both passed is
-- expired and deleted by a periodic sweep. Times are unix milliseconds.
CREATE TABLE throttle_counts (
    subject      TEXT   PRIMARY KEY NOT NULL,
    hits         BIGINT NOT NULL,
    resets_at    BIGINT NOT NULL,
    locked_until BIGINT
);
CREATE INDEX throttle_counts_by_reset ON throttle_counts (resets_at);

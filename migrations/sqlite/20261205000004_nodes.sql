-- The nodes serving from this database, each refreshing its row every few seconds, so that a
-- node can tell when it shares the database with another one that is not on the same bus.
CREATE TABLE nodes (
    id         TEXT   PRIMARY KEY,
    bus        TEXT   NOT NULL, -- the Redis server and key prefix it uses ('' for none)
    started_at BIGINT NOT NULL, -- unix milliseconds
    seen_at    BIGINT NOT NULL  -- unix milliseconds, the node's last heartbeat
);

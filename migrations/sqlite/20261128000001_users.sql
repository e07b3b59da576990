-- Accounts. Names are unique whatever their letter case; the password is an argon2id PHC string.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL -- unix milliseconds
);

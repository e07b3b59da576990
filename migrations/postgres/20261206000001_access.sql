-- Who may see and edit a room. A public room is listed to everyone signed in, who may open it
-- with its default role; a private one only to its members. Existing rooms stay public, with
-- their creator as owner.
ALTER TABLE rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
    CHECK (visibility IN ('public', 'private'));
ALTER TABLE rooms ADD COLUMN default_role TEXT NOT NULL DEFAULT 'editor'
    CHECK (default_role IN ('editor', 'viewer'));

CREATE TABLE room_members (
    room_id  BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT   NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_by_user ON room_members (user_id);
INSERT INTO room_members (room_id, user_id, role, added_at)
    SELECT id, created_by, 'owner', created_at FROM rooms;

-- Share links. Only a hash (SHA-256) of the token is stored; the owner sees the token once.
CREATE TABLE room_links (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id    BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    token_hash BYTEA  NOT NULL UNIQUE,
    role       TEXT   NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT, -- unix milliseconds; none = never
    max_uses   BIGINT, -- none = unlimited
    uses       BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT
);
CREATE INDEX room_links_by_room ON room_links (room_id);

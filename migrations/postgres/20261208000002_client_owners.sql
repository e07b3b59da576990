-- Who owns each Yjs client id of a room: the first signed-in user whose connection wrote under
-- it. An update from another user's connection that writes under an owned id is refused, so
-- that who wrote what (the author colours, a version's authors) cannot be forged.
CREATE TABLE doc_client_owners (
    room_id    BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    client_id  BIGINT NOT NULL, -- the Yjs client id, as a signed 64-bit number
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, client_id)
);

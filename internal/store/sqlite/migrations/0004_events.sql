-- 0004: the audit trail (issue 13).
--
-- Events describe tokens but do not reference them: they outlive the token
-- (a deleted token's "token.deleted" is the point). They go with their user.
-- Empty text means "absent"; no column can hold a secret or a password.

CREATE TABLE events (
    id               TEXT    NOT NULL PRIMARY KEY,
    user_id          TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    time             INTEGER NOT NULL,
    type             TEXT    NOT NULL,
    token_id         TEXT    NOT NULL DEFAULT '',
    token_name       TEXT    NOT NULL DEFAULT '',
    token_key_hint   TEXT    NOT NULL DEFAULT '',
    actor_kind       TEXT    NOT NULL,
    actor_token_id   TEXT    NOT NULL DEFAULT '',
    actor_token_name TEXT    NOT NULL DEFAULT '',
    client_address   TEXT    NOT NULL DEFAULT '',
    user_agent       TEXT    NOT NULL DEFAULT '',
    source           TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT ''
) STRICT;

-- A user's trail, newest first, keyset by id; also the cascade from users.
CREATE INDEX events_user_id_id ON events (user_id, id);
-- Pruning by age, oldest first.
CREATE INDEX events_time ON events (time);

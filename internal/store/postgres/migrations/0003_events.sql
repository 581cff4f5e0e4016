-- 0003: the audit trail (issue 13), the same shape as SQLite's 0004.
--
-- Events describe tokens but do not reference them: they outlive the token.
-- They go with their user. Empty text means "absent"; no column can hold a
-- secret or a password.

CREATE TABLE events (
    id               text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id          text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    time             timestamptz      NOT NULL,
    type             text COLLATE "C" NOT NULL,
    token_id         text COLLATE "C" NOT NULL DEFAULT '',
    token_name       text             NOT NULL DEFAULT '',
    token_key_hint   text             NOT NULL DEFAULT '',
    actor_kind       text             NOT NULL,
    actor_token_id   text             NOT NULL DEFAULT '',
    actor_token_name text             NOT NULL DEFAULT '',
    client_address   text             NOT NULL DEFAULT '',
    user_agent       text             NOT NULL DEFAULT '',
    source           text             NOT NULL DEFAULT '',
    reason           text             NOT NULL DEFAULT ''
);

-- A user's trail, newest first, keyset by id; also the cascade from users.
CREATE INDEX events_user_id_id ON events (user_id, id);
-- Pruning by age, oldest first.
CREATE INDEX events_time ON events (time);

-- 0001: users and their tokens.
--
-- Times are INTEGER Unix nanoseconds in UTC: exact round trips, cheap
-- comparisons, no time-zone or text-format ambiguity. The secret of a token is
-- never stored: only its SHA-256 digest (for lookup) and its key hint (for
-- display).

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    key_hint        TEXT    NOT NULL,
    digest          BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    idempotency_key TEXT,
    request_hash    BLOB,
    CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
) STRICT;

-- One token per (user, idempotency key); NULL keys never collide.
CREATE UNIQUE INDEX tokens_user_idempotency_key ON tokens (user_id, idempotency_key);

-- Serves "WHERE user_id = ? [AND id < ?] ORDER BY id DESC LIMIT ?" as a range
-- scan with no sort step, and the ON DELETE CASCADE lookup from users.
CREATE INDEX tokens_user_id_id ON tokens (user_id, id);

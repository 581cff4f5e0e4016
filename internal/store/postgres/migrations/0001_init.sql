-- 0001: users and their tokens (the same shape as SQLite's 0001).
--
-- Times are timestamptz: microsecond precision, an unambiguous instant, and
-- readable by an operator in psql. Every text column that is compared or
-- sorted by the store is COLLATE "C", so ordering (ids for keyset paging,
-- usernames for listing) and LIKE matching are byte-wise, exactly as on
-- SQLite, whatever locale the cluster was created with.

CREATE TABLE users (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    username      text COLLATE "C" NOT NULL UNIQUE,
    password_hash text             NOT NULL,
    created_at    timestamptz      NOT NULL
);

CREATE TABLE tokens (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id         text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text COLLATE "C" NOT NULL,
    description     text             NOT NULL DEFAULT '',
    key_hint        text             NOT NULL,
    digest          bytea            NOT NULL UNIQUE CHECK (length(digest) = 32),
    created_at      timestamptz      NOT NULL,
    expires_at      timestamptz      NOT NULL,
    last_used_at    timestamptz,
    idempotency_key text COLLATE "C",
    request_hash    bytea,
    CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
);

-- One token per (user, idempotency key), across every replica: CreateToken's
-- INSERT ... ON CONFLICT targets this index. NULL keys never collide.
CREATE UNIQUE INDEX tokens_user_idempotency_key ON tokens (user_id, idempotency_key);

-- Serves "WHERE user_id = $1 [AND id < $2] ORDER BY id DESC LIMIT $n" as a
-- backwards index scan with no sort, and the ON DELETE CASCADE from users.
CREATE INDEX tokens_user_id_id ON tokens (user_id, id);

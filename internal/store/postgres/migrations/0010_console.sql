-- 0010: the token console's browser sessions (issue 25). The cookie holds
-- a random id; only its SHA-256 digest is kept here.
CREATE TABLE console_sessions (
    digest     bytea       NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
CREATE INDEX console_sessions_user_id ON console_sessions (user_id);

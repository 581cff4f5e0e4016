-- 0007: sign-in through an OpenID provider (issue 22); the same shape as
-- SQLite's 0007. 0006 is issue 23's (roles); the loader accepts the gap.
CREATE TABLE sso_providers (
    name           text COLLATE "C" NOT NULL PRIMARY KEY,
    issuer         text             NOT NULL,
    client_id      text             NOT NULL,
    client_secret  text             NOT NULL,
    username_claim text             NOT NULL,
    scopes         text             NOT NULL, -- space-separated, sorted
    allow          text             NOT NULL CHECK (allow::jsonb IS NOT NULL),
    admin_if       text             NOT NULL CHECK (admin_if::jsonb IS NOT NULL),
    create_users   boolean          NOT NULL,
    created_at     timestamptz      NOT NULL
);

CREATE TABLE sso_users (
    user_id  text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    provider text COLLATE "C" NOT NULL
);

CREATE TABLE device_codes (
    digest       bytea            NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    user_code    text COLLATE "C" NOT NULL UNIQUE,
    client_host  text             NOT NULL,
    client_addr  text             NOT NULL,
    created_at   timestamptz      NOT NULL,
    expires_at   timestamptz      NOT NULL,
    interval_ns  bigint           NOT NULL CHECK (interval_ns > 0),
    state        text             NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'consumed')),
    user_id      text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    last_poll_at timestamptz
);

CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
CREATE INDEX device_codes_user_id ON device_codes (user_id);

CREATE TABLE sso_logins (
    state_digest   bytea            NOT NULL PRIMARY KEY CHECK (length(state_digest) = 32),
    session_digest bytea            NOT NULL CHECK (length(session_digest) = 32),
    provider       text COLLATE "C" NOT NULL,
    user_code      text COLLATE "C" NOT NULL,
    nonce          text             NOT NULL,
    verifier       text             NOT NULL,
    expires_at     timestamptz      NOT NULL
);

CREATE INDEX sso_logins_expires_at ON sso_logins (expires_at);

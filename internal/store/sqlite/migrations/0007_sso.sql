-- 0007: sign-in through an OpenID provider (issue 22). 0006 is issue 23's
-- (roles); the loader accepts the gap until both have landed.
--
-- A provider's allow and admin_if are JSON arrays of {"claim", "glob"} like
-- trust policies' claims. The client secret is the provider's credential
-- for tokend and must be sent as is, so it cannot be a digest.
CREATE TABLE sso_providers (
    name           TEXT    NOT NULL PRIMARY KEY,
    issuer         TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    client_secret  TEXT    NOT NULL,
    username_claim TEXT    NOT NULL,
    scopes         TEXT    NOT NULL, -- space-separated, sorted
    allow          TEXT    NOT NULL CHECK (json_valid(allow)),
    admin_if       TEXT    NOT NULL CHECK (json_valid(admin_if)),
    create_users   INTEGER NOT NULL CHECK (create_users IN (0, 1)),
    created_at     INTEGER NOT NULL
) STRICT;

-- Users provisioned on first sign-in, by the provider that made them. The
-- provider's name is kept even if the provider is deleted later.
CREATE TABLE sso_users (
    user_id  TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Device authorizations (RFC 8628): the device code's digest, never the code.
CREATE TABLE device_codes (
    digest       BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    user_code    TEXT    NOT NULL UNIQUE,
    client_host  TEXT    NOT NULL,
    client_addr  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    interval_ns  INTEGER NOT NULL CHECK (interval_ns > 0),
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'consumed')),
    user_id      TEXT    REFERENCES users (id) ON DELETE CASCADE,
    last_poll_at INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
CREATE INDEX device_codes_user_id ON device_codes (user_id);

-- Browser round trips to a provider, each taken once by its callback.
CREATE TABLE sso_logins (
    state_digest   BLOB    NOT NULL PRIMARY KEY CHECK (length(state_digest) = 32),
    session_digest BLOB    NOT NULL CHECK (length(session_digest) = 32),
    provider       TEXT    NOT NULL,
    user_code      TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    verifier       TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sso_logins_expires_at ON sso_logins (expires_at);

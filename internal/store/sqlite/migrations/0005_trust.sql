-- 0005: trust policies and subject-token uses (issue 15), and the audit
-- fields of an exchange.
--
-- A policy's claims are a JSON array of {"claim": ..., "glob": ...} sorted
-- by (claim, glob); its scopes a sorted, space-separated list like tokens'.
-- max_lifetime is in nanoseconds. A policy goes with its user: deleting the
-- user must not leave a policy that mints tokens for nobody (or, worse, for
-- a later user given the same id).
CREATE TABLE trust_policies (
    name         TEXT    NOT NULL PRIMARY KEY,
    issuer       TEXT    NOT NULL,
    audience     TEXT    NOT NULL,
    claims       TEXT    NOT NULL CHECK (json_valid(claims)),
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes       TEXT    NOT NULL,
    max_lifetime INTEGER NOT NULL CHECK (max_lifetime > 0),
    created_at   INTEGER NOT NULL
) STRICT;

-- The exchange's one read before it verifies a signature.
CREATE INDEX trust_policies_issuer ON trust_policies (issuer);
-- The ON DELETE CASCADE lookup from users.
CREATE INDEX trust_policies_user_id ON trust_policies (user_id);

-- Identity tokens already exchanged, each remembered until it expires
-- (after which it is refused as expired anyway). The primary key is what
-- makes a replay lose, however many processes exchange at once.
CREATE TABLE subject_token_uses (
    issuer     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, id)
) STRICT, WITHOUT ROWID;

-- The bounded prune of expired uses, oldest first.
CREATE INDEX subject_token_uses_expires_at ON subject_token_uses (expires_at);

-- token.exchanged events: the policy that allowed it and the identifying
-- claims as a JSON object. NULL on every other event.
ALTER TABLE events ADD COLUMN trust_policy TEXT;
ALTER TABLE events ADD COLUMN claims TEXT CHECK (claims IS NULL OR json_valid(claims));

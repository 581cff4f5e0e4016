-- 0005: trust policies and subject-token uses (issue 15), and the audit
-- fields of an exchange; the same shape as SQLite's 0005.
--
-- A policy's claims are a JSON array of {"claim": ..., "glob": ...} sorted
-- by (claim, glob), kept as text so both backends hold the same bytes; its
-- scopes a sorted text[] like tokens'. max_lifetime is in nanoseconds.
-- A policy goes with its user.
CREATE TABLE trust_policies (
    name         text COLLATE "C" NOT NULL PRIMARY KEY,
    issuer       text COLLATE "C" NOT NULL,
    audience     text             NOT NULL,
    claims       text             NOT NULL CHECK (claims::jsonb IS NOT NULL),
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes       text[] COLLATE "C" NOT NULL,
    max_lifetime bigint           NOT NULL CHECK (max_lifetime > 0),
    created_at   timestamptz      NOT NULL
);

-- The exchange's one read before it verifies a signature.
CREATE INDEX trust_policies_issuer ON trust_policies (issuer);
-- The ON DELETE CASCADE lookup from users.
CREATE INDEX trust_policies_user_id ON trust_policies (user_id);

-- Identity tokens already exchanged, each remembered until it expires. The
-- primary key makes a replay lose, however many replicas exchange at once.
CREATE TABLE subject_token_uses (
    issuer     text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    expires_at timestamptz      NOT NULL,
    PRIMARY KEY (issuer, id)
);

-- The bounded prune of expired uses, oldest first.
CREATE INDEX subject_token_uses_expires_at ON subject_token_uses (expires_at);

-- token.exchanged events: the policy that allowed it and the identifying
-- claims as a JSON object. NULL on every other event.
ALTER TABLE events ADD COLUMN trust_policy text;
ALTER TABLE events ADD COLUMN claims text CHECK (claims IS NULL OR claims::jsonb IS NOT NULL);

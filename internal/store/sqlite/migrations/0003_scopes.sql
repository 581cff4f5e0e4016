-- 0003: scopes.
--
-- A token's scopes are one TEXT column holding a sorted, space-separated
-- list ("deploy:write tokens:read"): the auth hot path reads it with the
-- token row it already reads (no join), and the list filter checks it on
-- the rows a bounded scan visits. Tokens made before scopes existed keep
-- the power they had: tokens:read and tokens:write.
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE tokens SET scopes = 'tokens:read tokens:write';

-- Application scopes the operator defined (built-in ones live in code).
CREATE TABLE scopes (
    name        TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

-- Counts a user's live tokens for the ceiling as an index range.
CREATE INDEX tokens_user_expires ON tokens (user_id, expires_at);

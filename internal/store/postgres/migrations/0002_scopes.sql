-- 0002: scopes (the same shape as SQLite's 0003, with text[] for the list).
--
-- A token's scopes are a sorted text[]; the list filter is "scopes @> $n"
-- checked on the rows a bounded scan visits. Tokens made before scopes
-- existed keep the power they had: tokens:read and tokens:write.
ALTER TABLE tokens ADD COLUMN scopes text[] COLLATE "C" NOT NULL DEFAULT '{}';
UPDATE tokens SET scopes = ARRAY['tokens:read', 'tokens:write'];

CREATE TABLE scopes (
    name        text COLLATE "C" NOT NULL PRIMARY KEY,
    description text             NOT NULL DEFAULT '',
    created_at  timestamptz      NOT NULL
);

-- Counts a user's live tokens for the ceiling as an index range.
CREATE INDEX tokens_user_expires ON tokens (user_id, expires_at);

-- 0006: roles, service accounts and offboarding (issue 23); the same shape
-- as SQLite's 0006. disabled_at is NULL while the user is enabled; token
-- authentication joins it, so one write refuses every token of the user
-- on the next request on every replica.
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin'));
ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service'));
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- actor_user: who acted when it is not the trail's owner (an admin).
-- detail: what an admin changed on a user event.
ALTER TABLE events ADD COLUMN actor_user text NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN detail text NOT NULL DEFAULT '';

-- Scope caps in nanoseconds; NULL for no cap beyond the server's.
ALTER TABLE scopes ADD COLUMN max_lifetime bigint CHECK (max_lifetime IS NULL OR max_lifetime > 0);

CREATE INDEX tokens_last_used_at ON tokens (last_used_at);

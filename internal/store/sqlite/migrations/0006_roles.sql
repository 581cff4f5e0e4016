-- 0006: roles, service accounts and offboarding (issue 23), and who acted
-- for whom in the audit trail.
--
-- role: 'member' or 'admin'; only an admin's tokens may carry admin:read
-- and admin:write. kind: 'person' or 'service' (a service account cannot
-- sign in; an admin mints its tokens). disabled_at: NULL while the user is
-- enabled, else when they were disabled; token authentication joins it, so
-- one write refuses every token of the user on the next request.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin'));
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service'));
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- actor_user: the username of whoever acted when it is not the trail's
-- owner (an admin); '' otherwise. detail: what an admin changed on a
-- user event ("role admin"); '' otherwise.
ALTER TABLE events ADD COLUMN actor_user TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN detail TEXT NOT NULL DEFAULT '';

-- Scope caps: the longest lifetime a token carrying the scope may have, in
-- nanoseconds; NULL for no cap beyond the server's.
ALTER TABLE scopes ADD COLUMN max_lifetime INTEGER CHECK (max_lifetime IS NULL OR max_lifetime > 0);

-- GET /v1/admin/tokens pages every user's tokens by id; the unused-expiry
-- sweep finds old unused tokens by last use.
CREATE INDEX tokens_last_used_at ON tokens (last_used_at);

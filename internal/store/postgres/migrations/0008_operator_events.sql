-- 0008: audit events with no user (issue 22), as SQLite's 0008: a failed
-- SSO sign-in of someone with no account here, or a provider that failed,
-- is kept with user_id NULL, for admins and the export.
ALTER TABLE events ALTER COLUMN user_id DROP NOT NULL;

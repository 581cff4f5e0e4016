-- 0002 is the scopes migration, on another branch (0002_scopes.sql). This
-- placeholder only keeps the version sequence gap-free on the branch that
-- adds 0003; delete it when 0002_scopes.sql is merged (two files numbered
-- 0002 fail every Open, so it cannot be missed).
SELECT 1;

-- 0002: one row that /readyz rewrites, so readiness proves a write can
-- commit (disk full, read-only file) rather than only that a read works.
CREATE TABLE readiness (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);

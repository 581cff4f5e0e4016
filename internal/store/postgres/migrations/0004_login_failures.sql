-- 0004: the failed-login budget every replica shares (store.LoginThrottle).
--
-- One row per client key (an address), holding its current fixed window; a
-- window that has ended is reset in place by the next write and deleted by
-- the lazy prune. UNLOGGED: a brute-force burst writes no WAL and waits for
-- no flush, and losing the table in a PostgreSQL crash or a failover only
-- resets the budgets, at most one window's worth of extra guesses.
CREATE UNLOGGED TABLE tokend_login_failures (
    key          text COLLATE "C" NOT NULL PRIMARY KEY,
    window_start timestamptz      NOT NULL,
    failures     integer          NOT NULL DEFAULT 0 CHECK (failures >= 0),
    pending      integer          NOT NULL DEFAULT 0 CHECK (pending >= 0)
);

-- Serves the prune (window_start <= cutoff) and the blocked-keys poll.
CREATE INDEX tokend_login_failures_window_start ON tokend_login_failures (window_start);

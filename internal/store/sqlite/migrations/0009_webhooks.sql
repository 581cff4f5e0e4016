-- 0009: webhooks (issue 24). 0008 is issue 22's; the loader accepts gaps.
--
-- A webhook's secret signs its deliveries (Standard Webhooks, HMAC-SHA256),
-- so it must be kept as is: the one secret tokend cannot keep as a digest.
CREATE TABLE webhooks (
    name       TEXT    NOT NULL PRIMARY KEY,
    url        TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('standard', 'slack')),
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Which event types each webhook receives; addEvents reads it inside the
-- event's own transaction.
CREATE TABLE webhook_events (
    webhook TEXT NOT NULL REFERENCES webhooks (name) ON DELETE CASCADE,
    type    TEXT NOT NULL,
    PRIMARY KEY (type, webhook)
) STRICT, WITHOUT ROWID;

-- The outbox: one row per (event, webhook), written in the event's
-- transaction. A worker claims a due row by setting lease_owner and
-- lease_until; a lease that runs out (the worker died) makes it due again.
-- state: pending until delivered, or failed once retries are given up.
CREATE TABLE webhook_deliveries (
    event_id        TEXT    NOT NULL,
    webhook         TEXT    NOT NULL REFERENCES webhooks (name) ON DELETE CASCADE,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    last_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error_at   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, webhook)
) STRICT, WITHOUT ROWID;

-- Due rows per webhook, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, webhook, next_attempt_at);

-- Expiry notices sent, one per (token, notice, expiry): the uniqueness is
-- what keeps token.expiring and token.expired to once each per token
-- across replicas and restarts. A rotated token with a new expiry gets
-- new notices.
CREATE TABLE token_expiry_notices (
    token_id   TEXT    NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    notice     TEXT    NOT NULL CHECK (notice IN ('7d', '1d', 'expired')),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (token_id, notice, expires_at)
) STRICT, WITHOUT ROWID;

-- The expiry sweep finds tokens by expiry.
CREATE INDEX tokens_expires_at ON tokens (expires_at);

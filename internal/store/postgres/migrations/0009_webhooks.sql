-- 0009: webhooks (issue 24); the same shape as SQLite's 0009. 0008 is
-- issue 22's; the loader accepts gaps.
CREATE TABLE webhooks (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    url        text             NOT NULL,
    format     text             NOT NULL CHECK (format IN ('standard', 'slack')),
    secret     text             NOT NULL,
    created_at timestamptz      NOT NULL
);

CREATE TABLE webhook_events (
    webhook text COLLATE "C" NOT NULL REFERENCES webhooks (name) ON DELETE CASCADE,
    type    text COLLATE "C" NOT NULL,
    PRIMARY KEY (type, webhook)
);
CREATE INDEX webhook_events_webhook ON webhook_events (webhook);

CREATE TABLE webhook_deliveries (
    event_id        text COLLATE "C" NOT NULL,
    webhook         text COLLATE "C" NOT NULL REFERENCES webhooks (name) ON DELETE CASCADE,
    event_type      text COLLATE "C" NOT NULL,
    payload         text             NOT NULL,
    created_at      timestamptz      NOT NULL,
    state           text             NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer          NOT NULL DEFAULT 0,
    next_attempt_at timestamptz      NOT NULL,
    lease_owner     text             NOT NULL DEFAULT '',
    lease_until     timestamptz      NOT NULL DEFAULT '-infinity',
    last_error      text             NOT NULL DEFAULT '',
    last_attempt_at timestamptz,
    last_error_at   timestamptz,
    PRIMARY KEY (event_id, webhook)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, webhook, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook);

CREATE TABLE token_expiry_notices (
    token_id   text COLLATE "C" NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    notice     text             NOT NULL CHECK (notice IN ('7d', '1d', 'expired')),
    expires_at timestamptz      NOT NULL,
    PRIMARY KEY (token_id, notice, expires_at)
);

CREATE INDEX tokens_expires_at ON tokens (expires_at);

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// CreateWebhook adds a webhook and its event types in one transaction.
func (s *Store) CreateWebhook(ctx context.Context, w store.Webhook) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhooks (name, url, format, secret, created_at) VALUES ($1, $2, $3, $4, $5)`,
			w.Name, w.URL, w.Format, w.Secret, toDB(w.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_events (webhook, type) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, w.Name, w.Events)
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create webhook %s: %w", w.Name, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create webhook %s: %w", w.Name, err)
	}
	return nil
}

// webhookEvents returns each webhook's event types, sorted.
func (s *Store) webhookEvents(ctx context.Context) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT webhook, type FROM webhook_events ORDER BY webhook, type`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var w, typ string
		if err := rows.Scan(&w, &typ); err != nil {
			return nil, err
		}
		out[w] = append(out[w], typ)
	}
	return out, rows.Err()
}

// ListWebhooks returns every webhook, without secrets, with its deliveries'
// counts and last error.
func (s *Store) ListWebhooks(ctx context.Context) ([]store.WebhookStatus, error) {
	evs, err := s.webhookEvents(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT w.name, w.url, w.format, w.created_at,
		count(*) FILTER (WHERE d.state = 'pending'),
		count(*) FILTER (WHERE d.state = 'delivered'),
		count(*) FILTER (WHERE d.state = 'failed'),
		coalesce((SELECT e.last_error FROM webhook_deliveries e WHERE e.webhook = w.name AND e.last_error_at IS NOT NULL ORDER BY e.last_error_at DESC LIMIT 1), ''),
		max(d.last_error_at)
		FROM webhooks w LEFT JOIN webhook_deliveries d ON d.webhook = w.name
		GROUP BY w.name ORDER BY w.name`)
	out, err := collect(rows, err, func(row pgx.Row) (store.WebhookStatus, error) {
		var w store.WebhookStatus
		var errAt *time.Time
		if err := row.Scan(&w.Name, &w.URL, &w.Format, &w.CreatedAt, &w.Pending, &w.Delivered, &w.Failed, &w.LastError, &errAt); err != nil {
			return w, err
		}
		w.CreatedAt = fromDB(w.CreatedAt)
		if errAt != nil {
			w.LastErrorAt = fromDB(*errAt)
		}
		w.Events = append([]string{}, evs[w.Name]...)
		return w, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// WebhookByName returns one webhook with its secret.
func (s *Store) WebhookByName(ctx context.Context, name string) (store.Webhook, error) {
	var w store.Webhook
	err := s.pool.QueryRow(ctx, `SELECT name, url, format, secret, created_at FROM webhooks WHERE name = $1`, name).
		Scan(&w.Name, &w.URL, &w.Format, &w.Secret, &w.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return w, fmt.Errorf("webhook %s: %w", name, store.ErrNotFound)
	case err != nil:
		return w, fmt.Errorf("webhook %s: %w", name, err)
	}
	w.CreatedAt = fromDB(w.CreatedAt)
	evs, err := s.webhookEvents(ctx)
	if err != nil {
		return w, fmt.Errorf("webhook %s: %w", name, err)
	}
	w.Events = append([]string{}, evs[name]...)
	return w, nil
}

// DeleteWebhook removes a webhook; its events and deliveries cascade.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	if err := s.deleteOne(ctx, `DELETE FROM webhooks WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete webhook %s: %w", name, err)
	}
	return nil
}

// enqueueWebhooks writes, inside tx, the deliveries of evs to the webhooks
// subscribed to their types: one more round trip when no webhook exists.
func enqueueWebhooks(ctx context.Context, tx pgx.Tx, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT type, webhook FROM webhook_events`)
	if err != nil {
		return err
	}
	subs := store.Subscriptions{}
	var typ, w string
	if _, err := pgx.ForEachRow(rows, []any{&typ, &w}, func() error {
		subs[typ] = append(subs[typ], w)
		return nil
	}); err != nil {
		return err
	}
	ds, err := store.WebhookDeliveries(subs, evs, func(userID string) (string, error) {
		var name string
		err := tx.QueryRow(ctx, `SELECT username FROM users WHERE id = $1`, userID).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", nil // the event's own insert reports the missing user
		}
		return name, err
	})
	if err != nil || len(ds) == 0 {
		return err
	}
	n := len(ds)
	ids, hooks, types, bodies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	for i, d := range ds {
		ids[i], hooks[i], types[i], bodies[i], times[i] = d.EventID, d.Webhook, d.EventType, string(d.Payload), toDB(d.CreatedAt)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (event_id, webhook, event_type, payload, created_at, state, next_attempt_at)
		SELECT e, w, t, p, c, 'pending', c FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS x(e, w, t, p, c)
		ON CONFLICT DO NOTHING`, ids, hooks, types, bodies, times); err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	return nil
}

// DueWebhooks returns the webhooks with an unleased delivery due at now.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT webhook FROM webhook_deliveries
		WHERE state = 'pending' AND next_attempt_at <= $1 AND lease_until <= $1 ORDER BY webhook`, toDB(now))
	out, err := collect(rows, err, func(row pgx.Row) (string, error) {
		var w string
		return w, row.Scan(&w)
	})
	if err != nil {
		return nil, fmt.Errorf("due webhooks: %w", err)
	}
	return out, nil
}

// ClaimDelivery leases the webhook's oldest due delivery. FOR UPDATE SKIP
// LOCKED makes a row another replica is claiming invisible rather than
// waited for, and the lease check is redone on the row's latest version,
// so two replicas never hold one row.
func (s *Store) ClaimDelivery(ctx context.Context, webhook, owner string, now, leaseUntil time.Time) (store.Delivery, error) {
	var d store.Delivery
	var payload string
	err := s.pool.QueryRow(ctx, `UPDATE webhook_deliveries d
		SET lease_owner = $1, lease_until = $2, attempts = d.attempts + 1, last_attempt_at = $3
		FROM (SELECT event_id, webhook FROM webhook_deliveries
			WHERE state = 'pending' AND webhook = $4 AND next_attempt_at <= $3 AND lease_until <= $3
			ORDER BY next_attempt_at, event_id LIMIT 1 FOR UPDATE SKIP LOCKED) c
		WHERE d.event_id = c.event_id AND d.webhook = c.webhook
		RETURNING d.event_id, d.webhook, d.event_type, d.payload, d.created_at, d.attempts`,
		owner, toDB(leaseUntil), toDB(now), webhook).
		Scan(&d.EventID, &d.Webhook, &d.EventType, &payload, &d.CreatedAt, &d.Attempts)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return d, fmt.Errorf("claim delivery for %s: %w", webhook, store.ErrNotFound)
	case err != nil:
		return d, fmt.Errorf("claim delivery for %s: %w", webhook, err)
	}
	d.Payload = []byte(payload)
	d.CreatedAt = fromDB(d.CreatedAt)
	return d, nil
}

// RenewLease moves owner's lease on d to until.
func (s *Store) RenewLease(ctx context.Context, d store.Delivery, owner string, until time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET lease_until = $1
		WHERE event_id = $2 AND webhook = $3 AND lease_owner = $4 AND state = 'pending'`, toDB(until), d.EventID, d.Webhook, owner)
	if err != nil {
		return fmt.Errorf("renew lease on %s to %s: %w", d.EventID, d.Webhook, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("renew lease on %s to %s: lease lost: %w", d.EventID, d.Webhook, store.ErrNotFound)
	}
	return nil
}

// FinishDelivery records an attempt's end if owner still holds the lease.
func (s *Store) FinishDelivery(ctx context.Context, d store.Delivery, owner string, r store.DeliveryResult) error {
	state, next := r.Outcome()
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries
		SET state = $1, next_attempt_at = $2, lease_owner = '', lease_until = '-infinity',
		    last_error = CASE WHEN $3 = '' THEN last_error ELSE $3 END,
		    last_error_at = CASE WHEN $3 = '' THEN last_error_at ELSE $4 END
		WHERE event_id = $5 AND webhook = $6 AND lease_owner = $7 AND state = 'pending'`,
		state, toDB(next), r.Error, toDB(r.At), d.EventID, d.Webhook, owner)
	if err != nil {
		return fmt.Errorf("finish delivery %s to %s: %w", d.EventID, d.Webhook, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("finish delivery %s to %s: lease lost: %w", d.EventID, d.Webhook, store.ErrNotFound)
	}
	return nil
}

// PruneDeliveries deletes up to limit finished deliveries made before before.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("prune deliveries: limit must be positive")
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE (event_id, webhook) IN
		(SELECT event_id, webhook FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1 LIMIT $2)`,
		toDB(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// NoteExpiries records due expiry notices. Two replicas sweeping at once
// both try to insert a notice; the loser waits on the key, then skips it
// (ON CONFLICT DO NOTHING returns no row), so only one records the event.
func (s *Store) NoteExpiries(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("note expiries: limit must be positive")
	}
	total := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var evs []store.Event
		a, audited := store.AuditFrom(ctx)
		for _, notice := range store.Notices {
			from, to := store.NoticeRange(notice, now)
			rows, err := tx.Query(ctx, `WITH noted AS (
				INSERT INTO token_expiry_notices (token_id, notice, expires_at)
				SELECT t.id, $1, t.expires_at FROM tokens t
				WHERE t.expires_at > $2 AND t.expires_at <= $3 AND t.expires_at - t.created_at > $4 * interval '1 microsecond'
				  AND NOT EXISTS (SELECT 1 FROM token_expiry_notices n WHERE n.token_id = t.id AND n.notice = $1 AND n.expires_at = t.expires_at)
				ORDER BY t.expires_at LIMIT $5
				ON CONFLICT DO NOTHING RETURNING token_id)
				SELECT `+tokenColumns+` FROM tokens WHERE id IN (SELECT token_id FROM noted) ORDER BY id`,
				notice, toDB(from), toDB(to), store.MinNoticeLifetime.Microseconds(), limit)
			toks, err := collect(rows, err, func(row pgx.Row) (store.Token, error) { return scanToken(row) })
			if err != nil {
				return err
			}
			total += len(toks)
			if audited {
				for _, t := range toks {
					evs = append(evs, store.NoticeEvent(a, notice, t))
				}
			}
		}
		return addEvents(ctx, tx, evs)
	})
	if err != nil {
		return 0, fmt.Errorf("note expiries: %w", err)
	}
	return total, nil
}

// exportWebhooks adds the webhooks, the outbox and the expiry notices to
// snap, inside Export's transaction.
func exportWebhooks(ctx context.Context, tx pgx.Tx, snap *store.Snapshot) error {
	rows, err := tx.Query(ctx, `SELECT w.name, w.url, w.format, w.secret, w.created_at,
		coalesce((SELECT array_agg(type ORDER BY type) FROM webhook_events e WHERE e.webhook = w.name), '{}')
		FROM webhooks w ORDER BY w.name`)
	snap.Webhooks, err = collect(rows, err, func(row pgx.Row) (store.Webhook, error) {
		var w store.Webhook
		err := row.Scan(&w.Name, &w.URL, &w.Format, &w.Secret, &w.CreatedAt, &w.Events)
		w.CreatedAt = fromDB(w.CreatedAt)
		return w, err
	})
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT event_id, webhook, event_type, payload, created_at, attempts, state,
		next_attempt_at, last_attempt_at, last_error_at, last_error FROM webhook_deliveries ORDER BY event_id, webhook`)
	snap.Outbox, err = collect(rows, err, func(row pgx.Row) (store.OutboxRow, error) {
		var o store.OutboxRow
		var payload string
		var attempt, errAt *time.Time
		if err := row.Scan(&o.EventID, &o.Webhook, &o.EventType, &payload, &o.CreatedAt, &o.Attempts, &o.State,
			&o.NextAttemptAt, &attempt, &errAt, &o.LastError); err != nil {
			return o, err
		}
		o.Payload, o.CreatedAt, o.NextAttemptAt = []byte(payload), fromDB(o.CreatedAt), fromDB(o.NextAttemptAt)
		if attempt != nil {
			o.LastAttemptAt = fromDB(*attempt)
		}
		if errAt != nil {
			o.LastErrorAt = fromDB(*errAt)
		}
		return o, nil
	})
	if err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT token_id, notice, expires_at FROM token_expiry_notices ORDER BY token_id, notice, expires_at`)
	snap.ExpiryNotices, err = collect(rows, err, func(row pgx.Row) (store.ExpiryNotice, error) {
		var n store.ExpiryNotice
		err := row.Scan(&n.TokenID, &n.Notice, &n.ExpiresAt)
		n.ExpiresAt = fromDB(n.ExpiresAt)
		return n, err
	})
	if err != nil {
		return fmt.Errorf("expiry notices: %w", err)
	}
	return nil
}

// importWebhooks copies snap's webhooks, outbox (unleased) and expiry
// notices inside Import's transaction, after the tokens they reference.
func importWebhooks(ctx context.Context, tx pgx.Tx, snap store.Snapshot) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"webhooks"}, []string{"name", "url", "format", "secret", "created_at"},
		pgx.CopyFromSlice(len(snap.Webhooks), func(i int) ([]any, error) {
			w := snap.Webhooks[i]
			return []any{w.Name, w.URL, w.Format, w.Secret, toDB(w.CreatedAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy webhooks: %w", err)
	}
	var subs [][]any
	for _, w := range snap.Webhooks {
		for _, typ := range w.Events {
			subs = append(subs, []any{w.Name, typ})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"webhook_events"}, []string{"webhook", "type"}, pgx.CopyFromRows(subs)); err != nil {
		return fmt.Errorf("copy webhook events: %w", err)
	}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = toDB(t)
		return &t
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"webhook_deliveries"}, []string{"event_id", "webhook", "event_type", "payload", "created_at",
		"state", "attempts", "next_attempt_at", "last_error", "last_attempt_at", "last_error_at"},
		pgx.CopyFromSlice(len(snap.Outbox), func(i int) ([]any, error) {
			o := snap.Outbox[i]
			return []any{o.EventID, o.Webhook, o.EventType, string(o.Payload), toDB(o.CreatedAt), o.State, o.Attempts,
				toDB(o.NextAttemptAt), o.LastError, opt(o.LastAttemptAt), opt(o.LastErrorAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy webhook deliveries: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"token_expiry_notices"}, []string{"token_id", "notice", "expires_at"},
		pgx.CopyFromSlice(len(snap.ExpiryNotices), func(i int) ([]any, error) {
			n := snap.ExpiryNotices[i]
			return []any{n.TokenID, n.Notice, toDB(n.ExpiresAt)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy expiry notices: %w", err)
	}
	return nil
}

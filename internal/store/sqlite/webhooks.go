package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// CreateWebhook adds a webhook and its event types in one transaction.
func (s *Store) CreateWebhook(ctx context.Context, w store.Webhook) error {
	if err := checkTime("created_at", w.CreatedAt); err != nil {
		return fmt.Errorf("create webhook %s: %w", w.Name, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (name, url, format, secret, created_at) VALUES (?, ?, ?, ?, ?)`,
			w.Name, w.URL, w.Format, w.Secret, toDB(w.CreatedAt)); err != nil {
			return err
		}
		for _, typ := range w.Events {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_events (webhook, type) VALUES (?, ?)`, w.Name, typ); err != nil {
				return err
			}
		}
		return nil
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
	rows, err := s.r.QueryContext(ctx, `SELECT webhook, type FROM webhook_events ORDER BY webhook, type`)
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
	rows, err := s.r.QueryContext(ctx, `SELECT w.name, w.url, w.format, w.created_at,
		(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook = w.name AND d.state = 'pending'),
		(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook = w.name AND d.state = 'delivered'),
		(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook = w.name AND d.state = 'failed'),
		coalesce((SELECT d.last_error FROM webhook_deliveries d WHERE d.webhook = w.name AND d.last_error_at > 0 ORDER BY d.last_error_at DESC LIMIT 1), ''),
		coalesce((SELECT max(d.last_error_at) FROM webhook_deliveries d WHERE d.webhook = w.name), 0)
		FROM webhooks w ORDER BY w.name`)
	out, err := collect(rows, err, func(row scanner) (store.WebhookStatus, error) {
		var w store.WebhookStatus
		var created, errAt int64
		if err := row.Scan(&w.Name, &w.URL, &w.Format, &created, &w.Pending, &w.Delivered, &w.Failed, &w.LastError, &errAt); err != nil {
			return w, err
		}
		w.CreatedAt = fromDB(created)
		if errAt > 0 {
			w.LastErrorAt = fromDB(errAt)
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
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT name, url, format, secret, created_at FROM webhooks WHERE name = ?`, name).
		Scan(&w.Name, &w.URL, &w.Format, &w.Secret, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return w, fmt.Errorf("webhook %s: %w", name, store.ErrNotFound)
	case err != nil:
		return w, fmt.Errorf("webhook %s: %w", name, err)
	}
	w.CreatedAt = fromDB(created)
	evs, err := s.webhookEvents(ctx)
	if err != nil {
		return w, fmt.Errorf("webhook %s: %w", name, err)
	}
	w.Events = append([]string{}, evs[name]...)
	return w, nil
}

// DeleteWebhook removes a webhook; its events and deliveries cascade.
func (s *Store) DeleteWebhook(ctx context.Context, name string) error {
	if err := s.deleteOne(ctx, `DELETE FROM webhooks WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete webhook %s: %w", name, err)
	}
	return nil
}

// enqueueWebhooks writes, inside tx, the deliveries of evs to the webhooks
// subscribed to their types. With no webhook it costs one read of an
// empty table.
func enqueueWebhooks(ctx context.Context, tx *sql.Tx, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT type, webhook FROM webhook_events`)
	if err != nil {
		return err
	}
	subs := store.Subscriptions{}
	for rows.Next() {
		var typ, w string
		if err := rows.Scan(&typ, &w); err != nil {
			rows.Close()
			return err
		}
		subs[typ] = append(subs[typ], w)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	ds, err := store.WebhookDeliveries(subs, evs, func(userID string) (string, error) {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = ?`, userID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil // the event's own insert reports the missing user
		}
		return name, err
	})
	if err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	// Like events, many rows per INSERT: a bulk delete's 1000 deliveries
	// cost ten statements, not a thousand.
	const row = `(?, ?, ?, ?, ?, 'pending', ?)`
	args := make([]any, 0, 6*min(len(ds), eventChunk))
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), eventChunk)]
		ds = ds[len(chunk):]
		args = args[:0]
		for _, d := range chunk {
			args = append(args, d.EventID, d.Webhook, d.EventType, string(d.Payload), toDB(d.CreatedAt), toDB(d.CreatedAt))
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_deliveries
			(event_id, webhook, event_type, payload, created_at, state, next_attempt_at) VALUES `+row+strings.Repeat(", "+row, len(chunk)-1),
			args...); err != nil {
			return fmt.Errorf("webhook deliveries: %w", err)
		}
	}
	return nil
}

// DueWebhooks returns the webhooks with an unleased delivery due at now.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT webhook FROM webhook_deliveries
		WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ? ORDER BY webhook`, toDB(now), toDB(now))
	out, err := collect(rows, err, func(row scanner) (string, error) {
		var w string
		return w, row.Scan(&w)
	})
	if err != nil {
		return nil, fmt.Errorf("due webhooks: %w", err)
	}
	return out, nil
}

// ClaimDelivery leases the webhook's oldest due delivery in one UPDATE:
// SQLite's single writer makes the pick and the lease one step.
func (s *Store) ClaimDelivery(ctx context.Context, webhook, owner string, now, leaseUntil time.Time) (store.Delivery, error) {
	var d store.Delivery
	var payload string
	var created int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE webhook_deliveries
			SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, last_attempt_at = ?
			WHERE (event_id, webhook) = (SELECT event_id, webhook FROM webhook_deliveries
				WHERE state = 'pending' AND webhook = ? AND next_attempt_at <= ? AND lease_until <= ?
				ORDER BY next_attempt_at, event_id LIMIT 1)
			RETURNING event_id, webhook, event_type, payload, created_at, attempts`,
			owner, toDB(leaseUntil), toDB(now), webhook, toDB(now), toDB(now)).
			Scan(&d.EventID, &d.Webhook, &d.EventType, &payload, &created, &d.Attempts)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("claim delivery for %s: %w", webhook, store.ErrNotFound)
	case err != nil:
		return d, fmt.Errorf("claim delivery for %s: %w", webhook, err)
	}
	d.Payload = []byte(payload)
	d.CreatedAt = fromDB(created)
	return d, nil
}

// RenewLease moves owner's lease on d to until.
func (s *Store) RenewLease(ctx context.Context, d store.Delivery, owner string, until time.Time) error {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_until = ?
			WHERE event_id = ? AND webhook = ? AND lease_owner = ? AND state = 'pending'`, toDB(until), d.EventID, d.Webhook, owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("renew lease on %s to %s: %w", d.EventID, d.Webhook, err)
	}
	if n == 0 {
		return fmt.Errorf("renew lease on %s to %s: lease lost: %w", d.EventID, d.Webhook, store.ErrNotFound)
	}
	return nil
}

// FinishDelivery records an attempt's end if owner still holds the lease.
func (s *Store) FinishDelivery(ctx context.Context, d store.Delivery, owner string, r store.DeliveryResult) error {
	state, next := r.Outcome()
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries
			SET state = ?, next_attempt_at = ?, lease_owner = '', lease_until = 0,
			    last_error = CASE WHEN ? = '' THEN last_error ELSE ? END,
			    last_error_at = CASE WHEN ? = '' THEN last_error_at ELSE ? END
			WHERE event_id = ? AND webhook = ? AND lease_owner = ? AND state = 'pending'`,
			state, toDB(next), r.Error, r.Error, r.Error, toDB(r.At), d.EventID, d.Webhook, owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("finish delivery %s to %s: %w", d.EventID, d.Webhook, err)
	}
	if n == 0 {
		return fmt.Errorf("finish delivery %s to %s: lease lost: %w", d.EventID, d.Webhook, store.ErrNotFound)
	}
	return nil
}

// PruneDeliveries deletes up to limit finished deliveries made before before.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("prune deliveries: limit must be positive")
	}
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE (event_id, webhook) IN
			(SELECT event_id, webhook FROM webhook_deliveries WHERE state != 'pending' AND created_at < ? LIMIT ?)`,
			clampDB(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return int(n), nil
}

// NoteExpiries records due expiry notices; INSERT OR IGNORE on the
// notices' key is what keeps each to once.
func (s *Store) NoteExpiries(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, errors.New("note expiries: limit must be positive")
	}
	if err := checkTime("now", now); err != nil {
		return 0, fmt.Errorf("note expiries: %w", err)
	}
	total := 0
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var evs []store.Event
		a, audited := store.AuditFrom(ctx)
		for _, notice := range store.Notices {
			from, to := store.NoticeRange(notice, now)
			rows, err := tx.QueryContext(ctx, `INSERT OR IGNORE INTO token_expiry_notices (token_id, notice, expires_at)
				SELECT t.id, ?, t.expires_at FROM tokens t
				WHERE t.expires_at > ? AND t.expires_at <= ? AND t.expires_at - t.created_at > ?
				  AND NOT EXISTS (SELECT 1 FROM token_expiry_notices n WHERE n.token_id = t.id AND n.notice = ? AND n.expires_at = t.expires_at)
				ORDER BY t.expires_at LIMIT ?
				RETURNING token_id`, notice, toDB(from), toDB(to), int64(store.MinNoticeLifetime), notice, limit)
			ids, err := collect(rows, err, func(row scanner) (string, error) {
				var id string
				return id, row.Scan(&id)
			})
			if err != nil {
				return err
			}
			total += len(ids)
			if !audited {
				continue
			}
			for _, id := range ids {
				t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
				if err != nil {
					return err
				}
				evs = append(evs, store.NoticeEvent(a, notice, t))
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
// snap, inside Export's read transaction.
func exportWebhooks(ctx context.Context, tx *sql.Tx, snap *store.Snapshot) error {
	rows, err := tx.QueryContext(ctx, `SELECT w.name, w.url, w.format, w.secret, w.created_at,
		coalesce((SELECT group_concat(type, ' ') FROM (SELECT type FROM webhook_events e WHERE e.webhook = w.name ORDER BY type)), '')
		FROM webhooks w ORDER BY w.name`)
	snap.Webhooks, err = collect(rows, err, func(row scanner) (store.Webhook, error) {
		var w store.Webhook
		var created int64
		var types string
		if err := row.Scan(&w.Name, &w.URL, &w.Format, &w.Secret, &created, &types); err != nil {
			return w, err
		}
		w.CreatedAt, w.Events = fromDB(created), strings.Fields(types)
		return w, nil
	})
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT event_id, webhook, event_type, payload, created_at, attempts, state,
		next_attempt_at, last_attempt_at, last_error_at, last_error FROM webhook_deliveries ORDER BY event_id, webhook`)
	snap.Outbox, err = collect(rows, err, func(row scanner) (store.OutboxRow, error) {
		var o store.OutboxRow
		var payload string
		var created, next, attempt, errAt int64
		if err := row.Scan(&o.EventID, &o.Webhook, &o.EventType, &payload, &created, &o.Attempts, &o.State,
			&next, &attempt, &errAt, &o.LastError); err != nil {
			return o, err
		}
		o.Payload, o.CreatedAt, o.NextAttemptAt = []byte(payload), fromDB(created), fromDB(next)
		if attempt != 0 {
			o.LastAttemptAt = fromDB(attempt)
		}
		if errAt != 0 {
			o.LastErrorAt = fromDB(errAt)
		}
		return o, nil
	})
	if err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT token_id, notice, expires_at FROM token_expiry_notices ORDER BY token_id, notice, expires_at`)
	snap.ExpiryNotices, err = collect(rows, err, func(row scanner) (store.ExpiryNotice, error) {
		var n store.ExpiryNotice
		var at int64
		err := row.Scan(&n.TokenID, &n.Notice, &at)
		n.ExpiresAt = fromDB(at)
		return n, err
	})
	if err != nil {
		return fmt.Errorf("expiry notices: %w", err)
	}
	return nil
}

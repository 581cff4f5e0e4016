package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// The failed-login budget lives in tokend_login_failures (migration 0003),
// one row per key. Every method is one statement or one transaction whose
// first statement locks the key's row (an upsert), so replicas counting the
// same key queue on that row and never both admit the last check.

var _ store.LoginThrottle = (*Store)(nil)

// pruneEvery is how often one Store deletes ended windows, piggybacked on
// BlockedLogins, which every replica calls about once a second under load.
const pruneEvery = 10 * time.Second

// openWindow upserts key's row, resetting a window that ended at or before
// now, and returns it locked for the rest of the transaction. $1 key, $2
// now, $3 now-window (a window that started at or before it has ended).
const openWindow = `
INSERT INTO tokend_login_failures AS f (key, window_start, failures, pending)
VALUES ($1, $2, 0, 0)
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN f.window_start <= $3 THEN $2 ELSE f.window_start END,
    failures     = CASE WHEN f.window_start <= $3 THEN 0  ELSE f.failures END,
    pending      = CASE WHEN f.window_start <= $3 THEN 0  ELSE f.pending END
RETURNING window_start, failures, pending`

// ReserveLogin implements store.LoginThrottle.
func (s *Store) ReserveLogin(ctx context.Context, key string, now time.Time, window time.Duration, limit int) (store.LoginWindow, bool, error) {
	now = micros(now)
	w := store.LoginWindow{Key: key}
	admitted := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, openWindow, key, toDB(now), toDB(now.Add(-window))).Scan(&w.Start, &w.Failures, &w.Pending); err != nil {
			return err
		}
		if w.Failures+w.Pending >= limit {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE tokend_login_failures SET pending = pending + 1 WHERE key = $1`, key); err != nil {
			return err
		}
		w.Pending++
		admitted = true
		return nil
	})
	if err != nil {
		return store.LoginWindow{}, false, fmt.Errorf("reserve login check: %w", err)
	}
	w.Start = fromDB(w.Start)
	return w, admitted, nil
}

// SettleLogin implements store.LoginThrottle.
func (s *Store) SettleLogin(ctx context.Context, key string, start time.Time, failed bool, now time.Time, window time.Duration) error {
	now = micros(now)
	var open bool
	err := s.pool.QueryRow(ctx, `
UPDATE tokend_login_failures
SET pending  = greatest(pending - 1, 0),
    failures = failures + CASE WHEN $3 AND window_start > $4 THEN 1 ELSE 0 END
WHERE key = $1 AND window_start = $2
RETURNING window_start > $4`, key, toDB(start), failed, toDB(now.Add(-window))).Scan(&open)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		open = false // the window was pruned or replaced
	case err != nil:
		return fmt.Errorf("settle login check: %w", err)
	}
	if failed && !open {
		_, err = s.CountLoginFailure(ctx, key, now, window)
	}
	return err
}

// CountLoginFailure implements store.LoginThrottle.
func (s *Store) CountLoginFailure(ctx context.Context, key string, now time.Time, window time.Duration) (store.LoginWindow, error) {
	now = micros(now)
	w := store.LoginWindow{Key: key}
	err := s.pool.QueryRow(ctx, `
INSERT INTO tokend_login_failures AS f (key, window_start, failures, pending)
VALUES ($1, $2, 1, 0)
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN f.window_start <= $3 THEN $2 ELSE f.window_start END,
    failures     = CASE WHEN f.window_start <= $3 THEN 1  ELSE f.failures + 1 END,
    pending      = CASE WHEN f.window_start <= $3 THEN 0  ELSE f.pending END
RETURNING window_start, failures, pending`, key, toDB(now), toDB(now.Add(-window))).Scan(&w.Start, &w.Failures, &w.Pending)
	if err != nil {
		return store.LoginWindow{}, fmt.Errorf("count login failure: %w", err)
	}
	w.Start = fromDB(w.Start)
	return w, nil
}

// BlockedLogins implements store.LoginThrottle. It also deletes ended
// windows, at most once per pruneEvery per Store, so the table holds only
// keys that failed within the last window.
func (s *Store) BlockedLogins(ctx context.Context, now time.Time, window time.Duration, limit, max int) ([]store.LoginWindow, error) {
	now = micros(now)
	cutoff := toDB(now.Add(-window))
	if last := s.pruned.Load(); now.UnixNano()-last >= int64(pruneEvery) && s.pruned.CompareAndSwap(last, now.UnixNano()) {
		if _, err := s.pool.Exec(ctx, `DELETE FROM tokend_login_failures WHERE window_start <= $1`, cutoff); err != nil {
			return nil, fmt.Errorf("prune login failures: %w", err)
		}
	}
	rows, err := s.pool.Query(ctx, `
SELECT key, window_start, failures, pending FROM tokend_login_failures
WHERE failures >= $1 AND window_start > $2
ORDER BY window_start DESC LIMIT $3`, limit, cutoff, max)
	if err != nil {
		return nil, fmt.Errorf("read blocked logins: %w", err)
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LoginWindow, error) {
		var w store.LoginWindow
		err := r.Scan(&w.Key, &w.Start, &w.Failures, &w.Pending)
		w.Start = fromDB(w.Start)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("read blocked logins: %w", err)
	}
	return ws, nil
}

// micros drops what timestamptz cannot hold, so a start handed back to
// SettleLogin compares equal to the stored one.
func micros(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// pruneClock is the last prune, in Unix nanoseconds of the callers' clock.
type pruneClock = atomic.Int64

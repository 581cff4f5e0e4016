package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// CreateConsoleSession stores a session after forgetting a batch of
// expired ones, so abandoned sessions cannot pile up.
func (s *Store) CreateConsoleSession(ctx context.Context, cs store.ConsoleSession) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE digest IN
			(SELECT digest FROM console_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`,
			toDB(cs.CreatedAt), pruneBatch); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO console_sessions (digest, user_id, created_at, last_seen, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, cs.Digest[:], cs.UserID, toDB(cs.CreatedAt), toDB(cs.LastSeen), toDB(cs.ExpiresAt))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create console session: %w", store.ErrConflict)
	case isForeignKeyViolation(err):
		return fmt.Errorf("create console session: %w", store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create console session: %w", err)
	}
	return nil
}

// UseConsoleSession reads the session FOR UPDATE, then deletes or touches
// it in the same transaction, so a session past its idle limit cannot be
// revived by a concurrent request on another replica.
func (s *Store) UseConsoleSession(ctx context.Context, digest [32]byte, now time.Time, idle time.Duration) (store.ConsoleSession, error) {
	cs := store.ConsoleSession{Digest: digest}
	expired := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var created, seen, exp time.Time
		err := tx.QueryRow(ctx, `SELECT user_id, created_at, last_seen, expires_at FROM console_sessions WHERE digest = $1 FOR UPDATE`,
			digest[:]).Scan(&cs.UserID, &created, &seen, &exp)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		cs.CreatedAt, cs.LastSeen, cs.ExpiresAt = fromDB(created), fromDB(seen), fromDB(exp)
		if !now.Before(cs.ExpiresAt) || !now.Before(cs.LastSeen.Add(idle)) {
			expired = true // committed: the delete must stick
			_, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE digest = $1`, digest[:])
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE console_sessions SET last_seen = $1 WHERE digest = $2 AND last_seen < $1`, toDB(now), digest[:])
		return err
	})
	switch {
	case expired && err == nil, errors.Is(err, store.ErrNotFound):
		return store.ConsoleSession{}, fmt.Errorf("console session: %w", store.ErrNotFound)
	case err != nil:
		return store.ConsoleSession{}, fmt.Errorf("console session: %w", err)
	}
	return cs, nil
}

// DeleteConsoleSession removes a session.
func (s *Store) DeleteConsoleSession(ctx context.Context, digest [32]byte) error {
	if err := s.deleteOne(ctx, `DELETE FROM console_sessions WHERE digest = $1`, digest[:]); err != nil {
		return fmt.Errorf("delete console session: %w", err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// CreateConsoleSession stores a session after forgetting a batch of
// expired ones, so abandoned sessions cannot pile up.
func (s *Store) CreateConsoleSession(ctx context.Context, cs store.ConsoleSession) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE digest IN
			(SELECT digest FROM console_sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
			toDB(cs.CreatedAt), pruneBatch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO console_sessions (digest, user_id, created_at, last_seen, expires_at)
			VALUES (?, ?, ?, ?, ?)`, cs.Digest[:], cs.UserID, toDB(cs.CreatedAt), toDB(cs.LastSeen), toDB(cs.ExpiresAt))
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

// UseConsoleSession reads, checks and touches a session in one write
// transaction, so a session past its idle limit cannot be revived by a
// concurrent request.
func (s *Store) UseConsoleSession(ctx context.Context, digest [32]byte, now time.Time, idle time.Duration) (store.ConsoleSession, error) {
	cs := store.ConsoleSession{Digest: digest}
	expired := false
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var created, seen, exp int64
		err := tx.QueryRowContext(ctx, `SELECT user_id, created_at, last_seen, expires_at FROM console_sessions WHERE digest = ?`,
			digest[:]).Scan(&cs.UserID, &created, &seen, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		cs.CreatedAt, cs.LastSeen, cs.ExpiresAt = fromDB(created), fromDB(seen), fromDB(exp)
		if !now.Before(cs.ExpiresAt) || !now.Before(cs.LastSeen.Add(idle)) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE digest = ?`, digest[:]); err != nil {
				return err
			}
			expired = true // committed: the delete must stick
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE console_sessions SET last_seen = ? WHERE digest = ? AND last_seen < ?`,
			toDB(now), digest[:], toDB(now))
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
	if err := s.deleteOne(ctx, `DELETE FROM console_sessions WHERE digest = ?`, digest[:]); err != nil {
		return fmt.Errorf("delete console session: %w", err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

var _ store.Exporter = (*Store)(nil)

// Export reads every user, token, scope, event, trust policy and
// subject-token use in one read transaction on the reader
// pool: in WAL mode that is one snapshot, taken at the first read, that
// writers (this server or another process) do not disturb.
func (s *Store) Export(ctx context.Context) (store.Snapshot, error) {
	var snap store.Snapshot
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, fmt.Errorf("export sqlite database: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit

	if err := func() error {
		rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			snap.Users = append(snap.Users, u)
		}
		return rows.Err()
	}(); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: users: %w", err)
	}

	if err := func() error {
		rows, err := tx.QueryContext(ctx, `SELECT `+tokenColumns+`, digest, idempotency_key, request_hash FROM tokens ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var et store.ExportedToken
			var digest, hash []byte
			var key sql.NullString
			if et.Token, err = scanToken(rows, &digest, &key, &hash); err != nil {
				return err
			}
			// The schema CHECKs the digest length; a request hash is 32
			// bytes too, as store.NewToken has it.
			copy(et.Digest[:], digest)
			if key.Valid {
				et.IdempotencyKey = key.String
				copy(et.RequestHash[:], hash)
			}
			snap.Tokens = append(snap.Tokens, et)
		}
		return rows.Err()
	}(); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: tokens: %w", err)
	}

	if err := func() error {
		rows, err := tx.QueryContext(ctx, `SELECT name, description, created_at, max_lifetime FROM scopes ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sc store.Scope
			var created int64
			var maxLife sql.NullInt64
			if err := rows.Scan(&sc.Name, &sc.Description, &created, &maxLife); err != nil {
				return err
			}
			sc.CreatedAt = fromDB(created)
			sc.MaxLifetime = time.Duration(maxLife.Int64)
			snap.Scopes = append(snap.Scopes, sc)
		}
		return rows.Err()
	}(); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: scopes: %w", err)
	}

	if err := func() error {
		rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM events ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				return err
			}
			snap.Events = append(snap.Events, e)
		}
		return rows.Err()
	}(); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: events: %w", err)
	}
	if err := s.exportTrust(ctx, tx, &snap); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: %w", err)
	}
	if err := exportSSO(ctx, tx, &snap); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: %w", err)
	}
	if err := exportWebhooks(ctx, tx, &snap); err != nil {
		return store.Snapshot{}, fmt.Errorf("export sqlite database: %w", err)
	}
	return snap, nil
}

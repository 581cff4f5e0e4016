package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

var (
	_ store.Exporter = (*Store)(nil)
	_ store.Importer = (*Store)(nil)
)

// Export reads every user and token in one REPEATABLE READ, read-only
// transaction: one snapshot, however many replicas write meanwhile.
func (s *Store) Export(ctx context.Context) (store.Snapshot, error) {
	var snap store.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if snap.Users, err = queryUsers(ctx, tx); err != nil {
			return err
		}
		if snap.Scopes, err = queryScopes(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+tokenColumns+`, digest, idempotency_key, request_hash FROM tokens ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var et store.ExportedToken
			var digest, hash []byte
			var key *string
			if et.Token, err = scanToken(rows, &digest, &key, &hash); err != nil {
				return err
			}
			if len(digest) != len(et.Digest) {
				return fmt.Errorf("token %s: digest of %d bytes", et.ID, len(digest))
			}
			copy(et.Digest[:], digest)
			if key != nil {
				et.IdempotencyKey = *key
				copy(et.RequestHash[:], hash)
			}
			snap.Tokens = append(snap.Tokens, et)
		}
		return rows.Err()
	})
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("export postgres database: %w", err)
	}
	return snap, nil
}

// Import writes snap in one transaction with COPY. It first locks both
// tables against writers (readers go on), so the emptiness check and the
// count check afterwards are exact even if a replica is already running on
// the target; it commits only if both hold.
func (s *Store) Import(ctx context.Context, snap store.Snapshot, opts store.ImportOptions) (store.ImportResult, error) {
	var res store.ImportResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE users, tokens, scopes IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		users0, tokens0, err := counts(ctx, tx)
		if err != nil {
			return err
		}
		if !opts.IntoNonEmpty && users0+tokens0 > 0 {
			return fmt.Errorf("%w: it has %d users and %d tokens", store.ErrNotEmpty, users0, tokens0)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "username", "password_hash", "created_at"},
			pgx.CopyFromSlice(len(snap.Users), func(i int) ([]any, error) {
				u := snap.Users[i]
				return []any{u.ID, u.Username, u.PasswordHash, toDB(u.CreatedAt)}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy users: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"tokens"},
			[]string{"id", "user_id", "name", "description", "key_hint", "digest", "created_at", "expires_at", "last_used_at", "idempotency_key", "request_hash", "scopes"},
			pgx.CopyFromSlice(len(snap.Tokens), func(i int) ([]any, error) {
				t := snap.Tokens[i]
				var lastUsed *time.Time
				if t.LastUsedAt != nil {
					at := toDB(*t.LastUsedAt)
					lastUsed = &at
				}
				var key, hash any
				if t.IdempotencyKey != "" {
					key, hash = t.IdempotencyKey, t.RequestHash[:]
				}
				return []any{t.ID, t.UserID, t.Name, t.Description, t.KeyHint, t.Digest[:],
					toDB(t.CreatedAt), toDB(t.ExpiresAt), lastUsed, key, hash, store.NormalizeScopes(t.Scopes)}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy tokens: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"scopes"}, []string{"name", "description", "created_at"},
			pgx.CopyFromSlice(len(snap.Scopes), func(i int) ([]any, error) {
				sc := snap.Scopes[i]
				return []any{sc.Name, sc.Description, toDB(sc.CreatedAt)}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy scopes: %w", err)
		}
		users1, tokens1, err := counts(ctx, tx)
		if err != nil {
			return err
		}
		res = store.ImportResult{Users: users1 - users0, Tokens: tokens1 - tokens0}
		if res.Users != len(snap.Users) || res.Tokens != len(snap.Tokens) {
			return fmt.Errorf("count check failed: %d users and %d tokens written, want %d and %d; nothing was committed",
				res.Users, res.Tokens, len(snap.Users), len(snap.Tokens))
		}
		return nil
	})
	switch {
	case isUniqueViolation(err):
		return store.ImportResult{}, fmt.Errorf("import into postgres database: a username, token id or digest is already there (%w); nothing was imported", store.ErrConflict)
	case err != nil:
		return store.ImportResult{}, fmt.Errorf("import into postgres database: %w", err)
	}
	return res, nil
}

func counts(ctx context.Context, tx pgx.Tx) (users, tokens int, err error) {
	err = tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tokens)`).Scan(&users, &tokens)
	return users, tokens, err
}

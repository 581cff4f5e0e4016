package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// store.MaxPageSize is the largest page ScanTokens returns (the API's largest);
// it reads one row more to know whether the page ended the matches.

// ScanTokens returns one bounded page of the user's tokens; see
// store.Store. With a filter, the filters are checked on a window of at
// most MaxScan rows of the (user_id, id) index, read in one REPEATABLE
// READ transaction with the count that tells whether the window was full.
// Without one every examined row matches, so the page is read straight off
// the index.
func (s *Store) ScanTokens(ctx context.Context, opts store.ListOptions) ([]store.Token, string, error) {
	if opts.Limit < 1 || opts.Limit > store.MaxPageSize {
		return nil, "", fmt.Errorf("list tokens: limit %d is outside 1..%d", opts.Limit, store.MaxPageSize)
	}
	filtered := opts.Status != store.StatusAll || opts.NameGlob != "" || len(opts.Scopes) > 0 || !opts.UnusedBefore.IsZero() ||
		!opts.ExpiresBefore.IsZero()
	windowed := opts.MaxScan > 0 && (filtered || opts.MaxScan <= opts.Limit)

	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var rows strings.Builder // the user's rows, newest first
	rows.WriteString(`FROM tokens WHERE ` + ownerIs(opts.UserID, arg(opts.UserID)))
	if opts.BeforeID != "" {
		rows.WriteString(` AND id < ` + arg(opts.BeforeID))
	}
	var q strings.Builder
	window := ""
	if windowed {
		window = rows.String() + ` ORDER BY id DESC LIMIT ` + arg(opts.MaxScan)
		q.WriteString(`SELECT ` + tokenColumns + ` FROM (SELECT * ` + window + `) w WHERE true`)
	} else {
		q.WriteString(`SELECT ` + tokenColumns + ` ` + rows.String())
	}
	nWindowArgs := len(args)
	switch opts.Status {
	case store.StatusAll:
	case store.StatusActive:
		q.WriteString(` AND expires_at > ` + arg(toDB(opts.Now)))
	case store.StatusExpired:
		q.WriteString(` AND expires_at <= ` + arg(toDB(opts.Now)))
	default:
		return nil, "", fmt.Errorf("list tokens: unknown status %d", opts.Status)
	}
	if opts.NameGlob != "" {
		q.WriteString(` AND name LIKE ` + arg(likePattern(opts.NameGlob)) + ` ESCAPE '\'`)
	}
	if len(opts.Scopes) > 0 {
		q.WriteString(` AND scopes @> ` + arg(opts.Scopes) + `::text[]`)
	}
	if !opts.UnusedBefore.IsZero() {
		q.WriteString(` AND (last_used_at IS NULL OR last_used_at < ` + arg(toDB(opts.UnusedBefore)) + `)`)
	}
	if !opts.ExpiresBefore.IsZero() {
		q.WriteString(` AND expires_at < ` + arg(toDB(opts.ExpiresBefore)))
	}
	// One row past the page says whether the page ended the matches.
	q.WriteString(` ORDER BY id DESC LIMIT ` + arg(opts.Limit+1))

	var (
		toks []store.Token
		next string
	)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q.String(), args...)
		if err != nil {
			return err
		}
		toks = make([]store.Token, 0, min(opts.Limit+1, 101))
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				rows.Close()
				return err
			}
			toks = append(toks, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(toks) > opts.Limit {
			toks = toks[:opts.Limit]
			next = toks[opts.Limit-1].ID
			return nil
		}
		if !windowed {
			return nil
		}
		var n int
		var last *string
		if err := tx.QueryRow(ctx, `SELECT count(*), min(id) FROM (SELECT id `+window+`) w`,
			args[:nWindowArgs]...).Scan(&n, &last); err != nil {
			return err
		}
		if n >= opts.MaxScan && last != nil {
			next = *last
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	return toks, next, nil
}

// CreateScope adds an application scope; store.ErrConflict when it exists.
func (s *Store) CreateScope(ctx context.Context, sc store.Scope) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO scopes (name, description, created_at, max_lifetime) VALUES ($1, $2, $3, $4)`,
		sc.Name, sc.Description, toDB(sc.CreatedAt), nullDuration(sc.MaxLifetime))
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create scope %s: %w", sc.Name, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create scope %s: %w", sc.Name, err)
	}
	return nil
}

// ListScopes returns the application scopes ordered by name.
func (s *Store) ListScopes(ctx context.Context) ([]store.Scope, error) {
	scopes, err := queryScopes(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	return scopes, nil
}

// nullDuration is d for a nullable column: NULL when not positive.
func nullDuration(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	n := int64(d)
	return &n
}

// SetScopeMaxLifetime sets or clears an application scope's lifetime cap.
func (s *Store) SetScopeMaxLifetime(ctx context.Context, name string, d time.Duration) error {
	tag, err := s.pool.Exec(ctx, `UPDATE scopes SET max_lifetime = $1 WHERE name = $2`, nullDuration(d), name)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set scope %s: %w", name, err)
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryScopes(ctx context.Context, q querier) ([]store.Scope, error) {
	rows, err := q.Query(ctx, `SELECT name, description, created_at, max_lifetime FROM scopes ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Scope{}
	for rows.Next() {
		var sc store.Scope
		var created time.Time
		var maxLife *int64
		if err := rows.Scan(&sc.Name, &sc.Description, &created, &maxLife); err != nil {
			return nil, err
		}
		sc.CreatedAt = fromDB(created)
		if maxLife != nil {
			sc.MaxLifetime = time.Duration(*maxLife)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// DeleteScope removes an application scope unless unexpired tokens carry
// it or a trust policy grants it. The delete runs first and is rolled back when the count says no; a
// token created meanwhile with the scope is a race the server's check of
// known scopes at create time narrows but does not close (documented).
func (s *Store) DeleteScope(ctx context.Context, name string, now time.Time) error {
	var live int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM scopes WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tokens WHERE expires_at > $1 AND scopes @> ARRAY[$2::text]`,
			toDB(now), name).Scan(&live); err != nil {
			return err
		}
		policies, err := policiesGranting(ctx, tx, name)
		if err != nil {
			return err
		}
		if live > 0 || len(policies) > 0 {
			return &store.ScopeInUseError{Scope: name, Live: live, Policies: policies}
		}
		return nil
	})
	var inUse *store.ScopeInUseError
	if errors.As(err, &inUse) {
		return err
	}
	if err != nil {
		return fmt.Errorf("delete scope %s: %w", name, err)
	}
	return nil
}

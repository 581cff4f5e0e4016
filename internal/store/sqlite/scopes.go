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

// joinScopes is the scopes column: sorted, unique, space-separated.
func joinScopes(scopes []string) string {
	return strings.Join(store.NormalizeScopes(scopes), " ")
}

func splitScopes(col string) []string {
	return store.NormalizeScopes(strings.Fields(col))
}

// scopeMatch is true when the space-separated scopes column holds the
// scope bound after it (padded with spaces, so "a:b" never matches "a:bc").
const scopeMatch = ` AND instr(' ' || scopes || ' ', ?) > 0`

func appendScopeFilter(q *strings.Builder, args []any, scopes []string) []any {
	for _, sc := range scopes {
		q.WriteString(scopeMatch)
		args = append(args, " "+sc+" ")
	}
	return args
}

// store.MaxPageSize is the largest page ScanTokens returns (the API's largest);
// it reads one row more to know whether the page ended the matches.

// ScanTokens returns one bounded page of the user's tokens; see
// store.Store. With a filter, the filters are checked on a window of at
// most MaxScan rows of the (user_id, id) index, read in one read
// transaction with the count that tells whether the window was full.
// Without one every examined row matches, so the page is read straight off
// the index.
func (s *Store) ScanTokens(ctx context.Context, opts store.ListOptions) ([]store.Token, string, error) {
	if opts.Limit < 1 || opts.Limit > store.MaxPageSize {
		return nil, "", fmt.Errorf("list tokens: limit %d is outside 1..%d", opts.Limit, store.MaxPageSize)
	}
	filtered := opts.Status != store.StatusAll || opts.NameGlob != "" || len(opts.Scopes) > 0 || !opts.UnusedBefore.IsZero() ||
		!opts.ExpiresBefore.IsZero()
	windowed := opts.MaxScan > 0 && (filtered || opts.MaxScan <= opts.Limit)

	var rows strings.Builder // the user's rows, newest first
	rows.WriteString(`FROM tokens WHERE ` + ownerIs(opts.UserID))
	rargs := []any{opts.UserID}
	if opts.BeforeID != "" {
		rows.WriteString(` AND id < ?`)
		rargs = append(rargs, opts.BeforeID)
	}
	window := rows.String() + ` ORDER BY id DESC LIMIT ?`
	wargs := append(append([]any{}, rargs...), opts.MaxScan)

	var q strings.Builder
	var args []any
	if windowed {
		q.WriteString(`SELECT ` + tokenColumns + ` FROM (SELECT * ` + window + `) WHERE 1 = 1`)
		args = append(args, wargs...)
	} else {
		q.WriteString(`SELECT ` + tokenColumns + ` ` + rows.String())
		args = append(args, rargs...)
	}
	switch opts.Status {
	case store.StatusAll:
	case store.StatusActive:
		q.WriteString(` AND expires_at > ?`)
		args = append(args, toDB(opts.Now))
	case store.StatusExpired:
		q.WriteString(` AND expires_at <= ?`)
		args = append(args, toDB(opts.Now))
	default:
		return nil, "", fmt.Errorf("list tokens: unknown status %d", opts.Status)
	}
	if opts.NameGlob != "" {
		q.WriteString(` AND name GLOB ?`)
		args = append(args, sqliteGlob(opts.NameGlob))
	}
	args = appendScopeFilter(&q, args, opts.Scopes)
	if !opts.UnusedBefore.IsZero() {
		q.WriteString(` AND (last_used_at IS NULL OR last_used_at < ?)`)
		args = append(args, clampDB(opts.UnusedBefore))
	}
	if !opts.ExpiresBefore.IsZero() {
		q.WriteString(` AND expires_at < ?`)
		args = append(args, clampDB(opts.ExpiresBefore))
	}
	// One row past the page says whether the page ended the matches.
	q.WriteString(` ORDER BY id DESC LIMIT ?`)
	args = append(args, opts.Limit+1)

	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	toks, err := func() ([]store.Token, error) {
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		toks := make([]store.Token, 0, min(opts.Limit+1, 101))
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
		}
		return toks, rows.Err()
	}()
	if err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	if len(toks) > opts.Limit {
		return toks[:opts.Limit], toks[opts.Limit-1].ID, nil
	}
	if !windowed {
		return toks, "", nil
	}
	var n int
	var last sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT count(*), min(id) FROM (SELECT id `+window+`)`, wargs...).Scan(&n, &last); err != nil {
		return nil, "", fmt.Errorf("list tokens: %w", err)
	}
	if n < opts.MaxScan {
		return toks, "", nil
	}
	return toks, last.String, nil
}

// CreateScope adds an application scope; store.ErrConflict when it exists.
func (s *Store) CreateScope(ctx context.Context, sc store.Scope) error {
	if err := checkTime("created_at", sc.CreatedAt); err != nil {
		return fmt.Errorf("create scope %s: %w", sc.Name, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO scopes (name, description, created_at, max_lifetime) VALUES (?, ?, ?, ?)`,
			sc.Name, sc.Description, toDB(sc.CreatedAt), nullDuration(sc.MaxLifetime))
		return err
	})
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
	rows, err := s.query(ctx, `SELECT name, description, created_at, max_lifetime FROM scopes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	defer rows.Close()
	out := []store.Scope{}
	for rows.Next() {
		var sc store.Scope
		var created int64
		var maxLife sql.NullInt64
		if err := rows.Scan(&sc.Name, &sc.Description, &created, &maxLife); err != nil {
			return nil, fmt.Errorf("list scopes: %w", err)
		}
		sc.CreatedAt = fromDB(created)
		sc.MaxLifetime = time.Duration(maxLife.Int64)
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	return out, nil
}

// nullDuration is d for a nullable column: NULL when not positive.
func nullDuration(d time.Duration) any {
	if d <= 0 {
		return nil
	}
	return int64(d)
}

// SetScopeMaxLifetime sets or clears an application scope's lifetime cap.
func (s *Store) SetScopeMaxLifetime(ctx context.Context, name string, d time.Duration) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE scopes SET max_lifetime = ? WHERE name = ?`, nullDuration(d), name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set scope %s: %w", name, err)
	}
	return nil
}

// DeleteScope removes an application scope unless unexpired tokens carry
// it or a trust policy grants it. The check and the delete share one write transaction. Counting reads
// every live token's scopes: an operator's command, not a request path.
func (s *Store) DeleteScope(ctx context.Context, name string, now time.Time) error {
	var live int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM scopes WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, store.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx,
			`SELECT count(*) FROM tokens WHERE expires_at > ?`+scopeMatch, toDB(now), " "+name+" ").Scan(&live); err != nil {
			return err
		}
		policies, err := policiesGranting(ctx, tx, name)
		if err != nil {
			return err
		}
		if live > 0 || len(policies) > 0 {
			return &store.ScopeInUseError{Scope: name, Live: live, Policies: policies} // rolls the delete back
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

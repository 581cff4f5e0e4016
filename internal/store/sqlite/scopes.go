package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
)

// joinScopes is the scopes column: the Set, space-separated. A Set is
// already sorted, so it is stored as given.
func joinScopes(scopes scope.Set) string { return scopes.String() }

// splitScopes reads the column back; it was sorted when written.
func splitScopes(col string) scope.Set { return strings.Fields(col) }

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
	out, err := collect(rows, err, scanScope)
	if err != nil {
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	return out, nil
}

func scanScope(row scanner) (store.Scope, error) {
	var sc store.Scope
	var created int64
	var maxLife sql.NullInt64
	if err := row.Scan(&sc.Name, &sc.Description, &created, &maxLife); err != nil {
		return store.Scope{}, err
	}
	sc.CreatedAt = fromDB(created)
	sc.MaxLifetime = time.Duration(maxLife.Int64)
	return sc, nil
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

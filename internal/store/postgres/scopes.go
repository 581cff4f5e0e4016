package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
)

// textArray is a scope.Set as a text[] parameter: already sorted, so
// stored as given, and never NULL (a nil Set is no scopes).
func textArray(s scope.Set) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// fromTextArray is a scopes column read back: sorted when it was written.
func fromTextArray(col []string) scope.Set {
	if col == nil {
		return scope.Set{}
	}
	return col
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
	return collect(rows, err, scanScope)
}

func scanScope(row pgx.Row) (store.Scope, error) {
	var sc store.Scope
	var created time.Time
	var maxLife *int64
	if err := row.Scan(&sc.Name, &sc.Description, &created, &maxLife); err != nil {
		return store.Scope{}, err
	}
	sc.CreatedAt = fromDB(created)
	if maxLife != nil {
		sc.MaxLifetime = time.Duration(*maxLife)
	}
	return sc, nil
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

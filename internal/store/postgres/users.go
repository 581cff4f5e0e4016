package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// userColumns is what scanUser reads, in order.
const userColumns = `id, username, password_hash, created_at, role, kind, disabled_at`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created time.Time
	var disabled *time.Time
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &created, &u.Role, &u.Kind, &disabled); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = fromDB(created)
	if disabled != nil {
		u.Disabled, u.DisabledAt = true, fromDB(*disabled)
	}
	return u, nil
}

func disabledAt(u store.User) *time.Time {
	if !u.Disabled {
		return nil
	}
	at := toDB(u.DisabledAt)
	return &at
}

// CreateUser adds a user; store.ErrConflict when the username or id is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	u, err := u.WithDefaults()
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`INSERT INTO users (id, username, password_hash, created_at, role, kind, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, u.Username, u.PasswordHash, toDB(u.CreatedAt), u.Role, u.Kind, disabledAt(u)); err != nil {
			return err
		}
		if a, ok := store.AuditFrom(ctx); ok {
			return addEvents(ctx, tx, []store.Event{a.UserEvent(store.EventUserCreated, u.ID, u.Kind+" "+u.Role)})
		}
		return nil
	})
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("create user %q: %w", u.Username, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return nil
}

// UserByName returns a user by username or store.ErrNotFound.
func (s *Store) UserByName(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	case err != nil:
		return store.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// UserByID returns a user by id or store.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.User{}, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	case err != nil:
		return store.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// ListUsers returns all users ordered by username (byte-wise: the column is
// COLLATE "C", as SQLite compares).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	users, err := queryUsers(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// collect is pgx.CollectRows for a scan written for one pgx.Row (QueryRow's
// answer too), taking the query's error: [] rather than nil when there are
// no rows.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

func queryUsers(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) ([]store.User, error) {
	rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	return collect(rows, err, scanUser)
}

// DeleteUser removes a user; ON DELETE CASCADE removes their tokens in the
// same statement.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	if err := s.deleteOne(ctx, `DELETE FROM users WHERE username = $1`, username); err != nil {
		return fmt.Errorf("delete user %q: %w", username, err)
	}
	return nil
}

// SetUserRole changes a user's role and records it in their trail.
func (s *Store) SetUserRole(ctx context.Context, username, role string) error {
	if err := store.CheckRole(role); err != nil {
		return fmt.Errorf("set role of %q: %w", username, err)
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, `UPDATE users SET role = $1 WHERE username = $2 RETURNING id`, role, username).Scan(&id); err != nil {
			return err
		}
		if a, ok := store.AuditFrom(ctx); ok {
			return addEvents(ctx, tx, []store.Event{a.UserEvent(store.EventUserRoleChanged, id, "role "+role)})
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set role of %q: %w", username, err)
	}
	return nil
}

// SetUserDisabled disables or enables a user in one committed write; token
// authentication on every replica joins disabled_at, so the next request
// anywhere sees it.
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool, at time.Time) error {
	var value *time.Time
	typ := store.EventUserEnabled
	if disabled {
		v := toDB(at)
		value, typ = &v, store.EventUserDisabled
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx,
			`UPDATE users SET disabled_at = CASE WHEN $1::timestamptz IS NULL THEN NULL ELSE coalesce(disabled_at, $1::timestamptz) END
			  WHERE username = $2 RETURNING id`, value, username).Scan(&id)
		if err != nil {
			return err
		}
		if a, ok := store.AuditFrom(ctx); ok {
			return addEvents(ctx, tx, []store.Event{a.UserEvent(typ, id, "")})
		}
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set disabled of %q: %w", username, err)
	}
	return nil
}

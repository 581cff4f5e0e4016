package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// userColumns is what scanUser reads, in order.
const userColumns = `id, username, password_hash, created_at, role, kind, disabled_at`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	var created int64
	var disabled sql.NullInt64
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &created, &u.Role, &u.Kind, &disabled); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = fromDB(created)
	if disabled.Valid {
		u.Disabled, u.DisabledAt = true, fromDB(disabled.Int64)
	}
	return u, nil
}

// CreateUser adds a user; store.ErrConflict when the username or id is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := checkTime("created_at", u.CreatedAt); err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	u, err := u.WithDefaults()
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	var disabled any
	if u.Disabled {
		disabled = toDB(u.DisabledAt)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, username, password_hash, created_at, role, kind, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.PasswordHash, toDB(u.CreatedAt), u.Role, u.Kind, disabled)
		if err != nil {
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
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	case err != nil:
		return store.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// UserByID returns a user by id or store.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.User{}, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	case err != nil:
		return store.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// ListUsers returns all users ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	users, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// DeleteUser removes a user; ON DELETE CASCADE removes their tokens in the
// same statement.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	if err := s.deleteOne(ctx, `DELETE FROM users WHERE username = ?`, username); err != nil {
		return fmt.Errorf("delete user %q: %w", username, err)
	}
	return nil
}

// SetUserRole changes a user's role and records it in their trail.
func (s *Store) SetUserRole(ctx context.Context, username, role string) error {
	if err := store.CheckRole(role); err != nil {
		return fmt.Errorf("set role of %q: %w", username, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `UPDATE users SET role = ? WHERE username = ? RETURNING id`, role, username).Scan(&id)
		if err != nil {
			return err
		}
		if a, ok := store.AuditFrom(ctx); ok {
			return addEvents(ctx, tx, []store.Event{a.UserEvent(store.EventUserRoleChanged, id, "role "+role)})
		}
		return nil
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set role of %q: %w", username, err)
	}
	return nil
}

// SetUserDisabled disables or enables a user in one write: token
// authentication joins disabled_at, so the next lookup after the commit
// sees it (a cache of lookups must drop its entries on this commit too;
// the conformance suite reads before and after).
func (s *Store) SetUserDisabled(ctx context.Context, username string, disabled bool, at time.Time) error {
	if err := checkTime("disabled_at", at); disabled && err != nil {
		return fmt.Errorf("disable %q: %w", username, err)
	}
	var value any
	typ := store.EventUserEnabled
	if disabled {
		value, typ = toDB(at), store.EventUserDisabled
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx,
			`UPDATE users SET disabled_at = CASE WHEN ?1 IS NULL THEN NULL ELSE coalesce(disabled_at, ?1) END
			  WHERE username = ?2 RETURNING id`, value, username).Scan(&id)
		if err != nil {
			return err
		}
		if a, ok := store.AuditFrom(ctx); ok {
			return addEvents(ctx, tx, []store.Event{a.UserEvent(typ, id, "")})
		}
		return nil
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set disabled of %q: %w", username, err)
	}
	return nil
}

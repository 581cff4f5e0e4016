package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tokenctl/tokenctl/internal/store"
)

// CreateUser adds a user; store.ErrConflict when the username or id is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := checkTime("created_at", u.CreatedAt); err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)`,
			u.ID, u.Username, u.PasswordHash, toDB(u.CreatedAt))
		return err
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
	var u store.User
	var created int64
	err := s.queryRow(ctx,
		`SELECT id, username, password_hash, created_at FROM users WHERE username = ?`, username).
		Scan(&u.ID, &u.Username, &u.PasswordHash, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	case err != nil:
		return store.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	u.CreatedAt = fromDB(created)
	return u, nil
}

// ListUsers returns all users ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.query(ctx,
		`SELECT id, username, password_hash, created_at FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	users := []store.User{}
	for rows.Next() {
		var u store.User
		var created int64
		if err := rows.Scan(&u.ID, &u.Username, &u.PasswordHash, &created); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.CreatedAt = fromDB(created)
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
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

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenctl/tokenctl/internal/store"
)

// CreateUser adds a user; store.ErrConflict when the username or id is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Username, u.PasswordHash, toDB(u.CreatedAt))
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
	var created time.Time
	err := s.pool.QueryRow(ctx,
		`SELECT id, username, password_hash, created_at FROM users WHERE username = $1`, username).
		Scan(&u.ID, &u.Username, &u.PasswordHash, &created)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	case err != nil:
		return store.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	u.CreatedAt = fromDB(created)
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

func queryUsers(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) ([]store.User, error) {
	rows, err := q.Query(ctx, `SELECT id, username, password_hash, created_at FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := []store.User{}
	for rows.Next() {
		var u store.User
		var created time.Time
		if err := rows.Scan(&u.ID, &u.Username, &u.PasswordHash, &created); err != nil {
			return nil, err
		}
		u.CreatedAt = fromDB(created)
		users = append(users, u)
	}
	return users, rows.Err()
}

// DeleteUser removes a user; ON DELETE CASCADE removes their tokens in the
// same statement.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	if err := s.deleteOne(ctx, `DELETE FROM users WHERE username = $1`, username); err != nil {
		return fmt.Errorf("delete user %q: %w", username, err)
	}
	return nil
}

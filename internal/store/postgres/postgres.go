// Package postgres is tokend's shared store: one PostgreSQL database that
// any number of tokend replicas use at once, through jackc/pgx (pgxpool).
//
// Durability: every write is one transaction that returns only once
// PostgreSQL has committed it. The store does not touch synchronous_commit:
// at the server default (on) a commit waits for the WAL flush, so a token the
// server answered 201 for survives kill -9 of tokend and of PostgreSQL, and
// with synchronous standbys configured it also waits for them. Lowering it
// per session here would silently weaken whatever the operator chose.
//
// Concurrency: transactions run at READ COMMITTED, the PostgreSQL default.
// Every write is either a single statement or locks the row it reads first
// (SELECT ... FOR UPDATE), so concurrent replicas cannot interleave inside a
// read-modify-write; uniqueness (usernames, digests, idempotency keys) is
// enforced by unique indexes, not by checks in Go, so it holds across
// processes. Nothing a request depends on is cached in the process: every
// replica sees every other replica's writes on its next request.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenctl/tokenctl/internal/store"
)

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	name string // the URL without its password, for messages

	pruned pruneClock // last prune of tokend_login_failures
}

var _ store.Store = (*Store)(nil)

// IsURL reports whether db names a PostgreSQL database (postgres:// or
// postgresql://), the forms Open accepts.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Redact returns the URL with any password replaced by "xxxxx", fit for logs
// and error messages. A URL that does not parse is reduced to its scheme.
func Redact(db string) string {
	u, err := url.Parse(db)
	if err != nil {
		scheme, _, _ := strings.Cut(db, "://")
		return scheme + "://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// connectTimeout bounds how long opening a connection may take when the URL
// does not say (connect_timeout=N): a replica whose database is gone must
// fail readiness within seconds, not hang in TCP retries.
const connectTimeout = 5 * time.Second

// Open connects to the PostgreSQL database at dbURL (postgres://...; all
// libpq URL parameters and PG* environment variables apply, and pgxpool's
// pool_max_conns and friends too) and migrates it to the current schema. A
// database whose schema is newer than this binary knows is refused.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	name := Redact(dbURL)
	if !IsURL(dbURL) {
		return nil, fmt.Errorf("open postgres database %s: want a postgres:// or postgresql:// URL", name)
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// pgconn's parse errors can quote the URL, password included.
		return nil, fmt.Errorf("open postgres database %s: the URL does not parse; see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS", name)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if !strings.Contains(dbURL, "pool_max_conns") {
		// pgxpool's default (max(4, NumCPU)) is sized for a client; a server
		// handling many requests that each do one short query does better
		// with a few more, while staying far below max_connections for a
		// handful of replicas.
		cfg.MaxConns = int32(max(8, 2*runtime.GOMAXPROCS(0)))
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		// Shows up in pg_stat_activity, so a DBA can tell tokend's sessions apart.
		cfg.ConnConfig.RuntimeParams["application_name"] = "tokend"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", name, err)
	}
	s := &Store{pool: pool, name: name}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", name, oneLine{err})
	}
	return s, nil
}

// Ping checks that a connection to the database works (for /readyz). The
// pool reconnects by itself, so a database that comes back makes Ping
// succeed again without a restart.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// readyTimeout bounds one readiness probe, so a database that has gone away
// fails /readyz within seconds instead of hanging the prober.
const readyTimeout = 3 * time.Second

// Ready proves a write can commit without a table of its own: a transaction
// that is assigned a transaction id writes (and, with the server's
// synchronous_commit, flushes) a commit record, and a read-only standby or
// a database in recovery refuses to assign one. pgxpool replaces broken
// connections by itself, so readiness recovers when the database returns.
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	var xid int64
	if err := tx.QueryRow(ctx, "SELECT txid_current()").Scan(&xid); err != nil {
		return fmt.Errorf("ready: cannot write: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ready: commit: %w", err)
	}
	return nil
}

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// tx runs fn in a transaction and commits it, or rolls it back if fn fails.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// deleteOne runs a DELETE and returns store.ErrNotFound when it removed
// nothing. One statement is its own transaction.
func (s *Store) deleteOne(ctx context.Context, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// oneLine flattens pgconn's multi-line connect errors (one line per address
// tried) so that tokend's "one clear line" holds; errors.Is/As still see
// through it.
type oneLine struct{ err error }

func (e oneLine) Error() string {
	lines := strings.Fields(strings.ReplaceAll(e.err.Error(), "\n", " ; "))
	msg := strings.Join(lines, " ")
	// pgx tries each address twice (TLS, then plain, as sslmode=prefer
	// says); say a repeated reason once.
	parts := strings.Split(msg, " ; ")
	out := parts[:0]
	seen := map[string]bool{}
	for _, p := range parts {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.ReplaceAll(strings.Join(out, "; "), ":; ", ": ")
}

func (e oneLine) Unwrap() error { return e.err }

// SQLSTATE codes the store maps to store errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUniqueViolation(err error) bool     { return pgCode(err) == uniqueViolation }
func isForeignKeyViolation(err error) bool { return pgCode(err) == foreignKeyViolation }

// toDB rounds nothing away that timestamptz keeps (microseconds) and sends
// the instant in UTC; fromDB gives it back in UTC, as the contract wants.
func toDB(t time.Time) time.Time { return t.UTC() }

func fromDB(t time.Time) time.Time { return t.UTC() }

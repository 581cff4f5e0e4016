// Package sqlite is tokend's embedded store: one SQLite file, opened through
// modernc.org/sqlite (pure Go, so CGO_ENABLED=0 builds work).
//
// Durability: every write commits in WAL mode with synchronous=FULL, so a
// token the server has answered 201 for survives kill -9 of the server and a
// power loss (see docs/storage.md).
//
// Concurrency: writes go through a pool of exactly one connection, so
// writers in this process queue in Go instead of spinning in SQLite's busy
// handler; reads use a separate pool and, thanks to WAL, never wait for a
// writer. Every write transaction starts with BEGIN IMMEDIATE and every
// connection has a busy timeout, so a second process on the same file (for
// example `tokend user add` while the server runs) waits its turn rather than
// failing with SQLITE_BUSY.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tokenctl/tokenctl/internal/store"
)

// busyTimeout is how long a connection waits for another process's write
// lock before giving up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Store is a store.Store on one SQLite database file.
type Store struct {
	path string
	file os.FileInfo // the file opened, to notice it deleted or replaced
	w    *sql.DB     // exactly one connection: all writes
	r    *sql.DB     // read-only connections: all reads

	// stmts caches the reader pool's prepared statements by SQL text
	// (a fixed, small set: the queries are constants or built from a few
	// fixed fragments). database/sql keeps each one prepared per reader
	// connection, which saves parsing and planning on every request: it
	// makes TokenByDigest about three times faster.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt

	// digests serves TokenByDigest, the authentication hot path, from its
	// own read connections below database/sql: digestpool.go.
	digests *digestPool

	// cache answers TokenByDigest for known tokens until the next commit
	// (tokencache.go); nil when off.
	cache *tokenCache
}

// queryRow runs a read through a cached prepared statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		// QueryRowContext on the pool reports the same error through Scan.
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

// query runs a read through a cached prepared statement.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stmt, ok := s.stmts[query]; ok {
		return stmt, nil
	}
	stmt, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = stmt
	return stmt, nil
}

var _ store.Store = (*Store)(nil)

// dsn builds the connection string for path. The pragma order matters and
// modernc applies _pragma values with busy_timeout first, then in
// lexicographic order (foreign_keys, journal_mode, query_only, synchronous):
//   - busy_timeout first, so that even switching the journal mode on a busy
//     file waits instead of failing;
//   - journal_mode=WAL: readers never block the writer nor the writer them;
//   - foreign_keys=ON: deleting a user cascades to their tokens;
//   - synchronous=FULL: in WAL mode, NORMAL only syncs at checkpoints, so
//     the last commits before a power cut can vanish; FULL fsyncs the WAL on
//     every commit, which is what a 201 promises. (Both survive kill -9 of
//     the process, since the WAL is in the OS page cache once written.)
//
// _txlock=immediate makes every BeginTx a BEGIN IMMEDIATE: the write lock is
// taken at the start of the transaction, while the busy handler can still
// wait for it, rather than on the first write, where a WAL reader that has
// to upgrade fails at once with SQLITE_BUSY_SNAPSHOT.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		// Belt and braces: a write on the read pool is a bug, so make it fail.
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	// A file: URI, so that a path holding '?' or '#' is still one path.
	// SQLite wants forward slashes and, for C:\x on Windows, "/C:/x".
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the SQLite database at path, a plain
// filesystem path, and migrates it to the current schema. A database whose
// schema is newer than this binary knows is refused.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == ":memory:" {
		// Two pools would be two unrelated in-memory databases.
		return nil, errors.New("open sqlite database: in-memory databases are not supported; give a file path")
	}
	if path == "" || strings.HasPrefix(path, "file:") || strings.Contains(path, "://") {
		return nil, fmt.Errorf("open sqlite database: %q is not a filesystem path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}

	w, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// What Ready compares the path against; a missing file was reported
	// by createPrivate.
	file, err := os.Stat(abs)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	s := &Store{path: abs, file: file, w: w, stmts: map[string]*sql.Stmt{}}
	// The first connection sets WAL mode (a persistent, file-level change)
	// and migrates, before any reader connects.
	if err := s.migrateFirstOpen(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	s.r = r
	s.digests = newDigestPool(r.Driver(), dsn(abs, true), n)
	// No cache is no error: every lookup then reads the store.
	s.cache, _ = openTokenCache(ctx, r.Driver(), dsn(abs, true), abs)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return s, nil
}

// migrateFirstOpen is migrate, tried again for up to busyTimeout when SQLite
// answers SQLITE_BUSY at once: several processes opening a new file together
// all switch it to WAL, and SQLite refuses that switch without waiting out
// busy_timeout while another connection is making it. A failed first
// connection is not kept by the pool, so the next try starts clean.
func (s *Store) migrateFirstOpen(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := s.migrate(ctx)
		if err == nil || sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// createPrivate creates the database file with mode 0600 if it does not
// exist yet: it holds password hashes. SQLite gives its -wal and -shm files
// the same mode as the database file.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return errors.New("is a directory; give the path of a database file")
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist; create it first", filepath.Dir(path))
	case err != nil:
		return err
	}
	return f.Close()
}

// Ping checks that both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.queryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Ready commits one small write (an fsync, like any create) after checking
// that the file at the path is still the one opened: a database deleted or
// replaced while serving would take writes nobody will ever read again.
func (s *Store) Ready(ctx context.Context) error {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database file %s was deleted while in use; restore it and restart", s.path)
	case err != nil:
		return fmt.Errorf("check database file: %w", err)
	case !os.SameFile(fi, s.file):
		return fmt.Errorf("database file %s was replaced while in use; restart to open the new one", s.path)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO readiness (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, toDB(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("commit a test write: %w", err)
	}
	return nil
}

// Close closes both pools. Closing the last connection checkpoints the WAL
// into the database file and removes the -wal and -shm files.
func (s *Store) Close() error {
	var errS, errR, errD error
	if s.digests != nil {
		errD = s.digests.close()
	}
	s.mu.Lock()
	for q, stmt := range s.stmts {
		errS = errors.Join(errS, stmt.Close())
		delete(s.stmts, q)
	}
	s.mu.Unlock()
	if s.r != nil {
		errR = s.r.Close()
	}
	closeCache := s.cache != nil && s.cache.closed.CompareAndSwap(false, true)
	var errC error
	if closeCache {
		errC = s.cache.closeConn()
	}
	errW := s.w.Close()
	if closeCache {
		// After every connection: see walIndex.
		errC = errors.Join(errC, s.cache.release())
	}
	if err := errors.Join(errD, errS, errR, errC, errW); err != nil {
		return fmt.Errorf("close sqlite database: %w", err)
	}
	return nil
}

// writeTx runs fn in a BEGIN IMMEDIATE transaction on the writer and commits
// it, or rolls it back if fn fails.
// deleteOne runs a DELETE in a write transaction and returns
// store.ErrNotFound when it removed nothing.
func (s *Store) deleteOne(ctx context.Context, query string, args ...any) error {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	return err
}

func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqliteCode returns the extended SQLite result code in err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Times are stored as Unix nanoseconds; they come back in UTC.
func toDB(t time.Time) int64 { return t.UnixNano() }

func fromDB(n int64) time.Time { return time.Unix(0, n).UTC() }

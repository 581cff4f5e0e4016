package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tokenctl/tokenctl/internal/store"
)

// tokenCache answers TokenByDigest for tokens it has read before, without
// the store, for as long as nothing at all has been committed to the
// database since: every entry carries the WAL-index header (changecounter.go)
// read before its row was, and is served only while the header still
// holds exactly those bytes. Any commit, by this process or another on the
// same host (another tokend, `tokend user delete`, a sqlite3 shell),
// changes the header before the committing statement returns, so a
// revocation answered by anyone is seen by every request that starts
// after the answer. A commit racing a fill is harmless: the header was
// read first, so the entry carries the older one and is never served.
//
// What it costs: a commit of any kind empties it in effect (last_used_at
// updates, at most one per token a minute, and readiness checks
// included); the next lookup of each token reads the store again.
// Expiry needs no help: an entry holds the token's expires_at, which the
// caller checks on every request as it does for a token read from the
// store.
type tokenCache struct {
	wal *walIndex
	// pin is a connection to the database that is never used after Open:
	// while it is open, this process holds SQLite's locks on the -shm
	// file, so no other process can truncate, rebuild or delete it (SQLite
	// does that only when no connection anywhere has it open), and no one
	// can take the database out of WAL mode. The mapping stays the file
	// SQLite uses.
	pin driver.Conn

	mu      sync.RWMutex
	entries map[[32]byte]*cachedToken

	hits, misses atomic.Uint64
	closed       atomic.Bool // by Store.Close: the mapping is gone

	// afterRead, when set (by tests), runs between the store read and
	// the fill.
	afterRead func()
}

type cachedToken struct {
	v walVersion // the header read before the row
	t store.Token
	u store.User
}

// maxCachedTokens bounds the memory the cache holds (about 0.5 KB a
// token); past it, an eighth of the entries make room.
const maxCachedTokens = 16384

// openTokenCache opens the pin connection with the reader DSN, checks the
// database is in WAL mode, and maps the WAL-index header. Any failure
// means no cache: every lookup then reads the store, as before.
func openTokenCache(ctx context.Context, drv driver.Driver, dsn, dbPath string) (*tokenCache, error) {
	conn, err := drv.Open(dsn)
	if err != nil {
		return nil, err
	}
	mode, err := queryText(ctx, conn, "PRAGMA journal_mode")
	if err == nil && mode != "wal" {
		err = fmt.Errorf("journal mode is %q, not wal", mode)
	}
	if err == nil {
		// A read transaction in WAL mode opens and maps the -shm file.
		_, err = queryText(ctx, conn, "SELECT count(*) FROM sqlite_schema")
	}
	var w *walIndex
	if err == nil {
		var path string
		if path, err = shmPath(dbPath); err == nil {
			w, err = openWALIndex(path)
		}
	}
	if err == nil {
		if _, ok := w.version(); !ok {
			err = errors.Join(errors.New("no consistent WAL-index header"), w.release())
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("token cache: %w", err), conn.Close())
	}
	return &tokenCache{wal: w, pin: conn, entries: map[[32]byte]*cachedToken{}}, nil
}

// queryText runs a query on conn and returns its first column of its first
// row as text.
func queryText(ctx context.Context, conn driver.Conn, query string) (string, error) {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return "", errors.New("sqlite driver cannot query a connection")
	}
	rows, err := q.QueryContext(ctx, query, nil)
	if err != nil {
		return "", err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	err = rows.Next(dest)
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == io.EOF {
		return "", fmt.Errorf("%s: no row", query)
	}
	if err != nil {
		return "", err
	}
	return strings.ToLower(fmt.Sprint(dest[0])), nil
}

// closeConn closes the pin; it goes before the writer, whose close is the
// one that checkpoints the WAL and removes the -wal and -shm files.
func (c *tokenCache) closeConn() error { return c.pin.Close() }

// release unmaps the header once every connection is closed.
func (c *tokenCache) release() error { return c.wal.release() }

// TokenByDigest is the authentication hot path: a token read before and
// unchanged since comes from the cache (tokenCache), any other from one
// read on the unique digest index joined to the owner by primary key.
func (s *Store) TokenByDigest(ctx context.Context, digest [32]byte) (store.Token, store.User, error) {
	c := s.cache
	if c == nil || c.closed.Load() {
		return s.tokenByDigest(ctx, digest)
	}
	// Before the row, never after: see tokenCache.
	v, ok := c.wal.version()
	if !ok {
		return s.tokenByDigest(ctx, digest)
	}
	c.mu.RLock()
	e := c.entries[digest]
	c.mu.RUnlock()
	if e != nil && e.v == v {
		c.hits.Add(1)
		t := e.t
		// Full slice expression: an append by the caller copies instead
		// of writing into the cached entry.
		t.Scopes = t.Scopes[:len(t.Scopes):len(t.Scopes)]
		return t, e.u, nil
	}
	c.misses.Add(1)
	t, u, err := s.tokenByDigest(ctx, digest)
	if err != nil {
		return t, u, err
	}
	if c.afterRead != nil {
		c.afterRead()
	}
	c.put(digest, &cachedToken{v: v, t: t, u: u})
	t.Scopes = t.Scopes[:len(t.Scopes):len(t.Scopes)]
	return t, u, nil
}

func (c *tokenCache) put(digest [32]byte, e *cachedToken) {
	c.mu.Lock()
	if len(c.entries) >= maxCachedTokens {
		// Map iteration order is random enough for an eviction that
		// only has to bound memory: most entries are stale anyway.
		for k := range c.entries {
			delete(c.entries, k)
			if len(c.entries) <= maxCachedTokens*7/8 {
				break
			}
		}
	}
	c.entries[digest] = e
	c.mu.Unlock()
}

// TokenCacheStats reports how many TokenByDigest calls the cache answered
// and how many read the store with the cache on; enabled is false when the
// cache is off (the database is not in WAL mode, or the platform's -shm
// is not mapped), in which case every lookup reads the store.
func (s *Store) TokenCacheStats() (hits, misses uint64, enabled bool) {
	if s.cache == nil {
		return 0, 0, false
	}
	return s.cache.hits.Load(), s.cache.misses.Load(), true
}

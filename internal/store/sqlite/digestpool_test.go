package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/tokenctl/tokenctl/internal/store"
)

// TestDigestLookupSeesDeletesFromAnotherConnection: the lookup connections
// keep their statement prepared but no read transaction open, so a delete
// committed through another handle on the file (another process, say
// `tokend token delete` next to a running server) is seen by the very next
// lookup on the same, already used, connection.
func TestDigestLookupSeesDeletesFromAnotherConnection(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "revoke", 3)

	for i := range ids {
		if _, _, err := s.TokenByDigest(ctx, seedDigest("revoke", i)); err != nil {
			t.Fatalf("lookup %d before the delete: %v", i, err)
		}
	}
	other, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i, id := range ids {
		if _, err := other.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.TokenByDigest(ctx, seedDigest("revoke", i)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lookup %d right after its delete elsewhere: %v, want ErrNotFound", i, err)
		}
	}
}

// TestDigestLookupsShareThePoolUnderLoad: more goroutines than connections
// wait their turn; every lookup answers its own token.
func TestDigestLookupsShareThePoolUnderLoad(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	const n = 50
	ids := bulkInsert(t, s, u, "load", n)
	if got, want := s.digests.n, max(4, runtime.GOMAXPROCS(0)); got != want {
		t.Errorf("pool of %d connections, want %d", got, want)
	}
	workers := 4 * s.digests.n
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				k := (i + w) % n
				tok, _, err := s.TokenByDigest(ctx, seedDigest("load", k))
				if err == nil && tok.ID != ids[k] {
					err = errors.New("lookup answered another token")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestDigestLookupAfterCloseFails: a closed store answers an error, not a
// panic or a hang, and closing twice is harmless.
func TestDigestLookupAfterCloseFails(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir()+"/tokend.db")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenByDigest(context.Background(), seedDigest("x", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup of an unknown digest: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenByDigest(context.Background(), seedDigest("x", 1)); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup on a closed store: %v, want an error other than not found", err)
	}
	if err := s.digests.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestDigestLookupHonoursCancellation: a lookup whose request is gone does
// not wait for a connection.
func TestDigestLookupHonoursCancellation(t *testing.T) {
	s, _ := openTemp(t)
	// Take every connection, so the next lookup would have to wait.
	var held []*digestConn
	for range s.digests.n {
		c, err := s.digests.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.TokenByDigest(ctx, seedDigest("x", 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("lookup with a cancelled context: %v, want context.Canceled", err)
	}
	for _, c := range held {
		s.digests.put(c, false)
	}
}

// TestDigestConnectionsHaveTheReaderPragmas: the lookup connections are
// opened with the reader pool's DSN, so they are read-only and wait out a
// writer's lock like the rest.
func TestDigestConnectionsHaveTheReaderPragmas(t *testing.T) {
	s, _ := openTemp(t)
	c, err := s.digests.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.digests.put(c, false)
	want := map[string]string{"busy_timeout": "10000", "journal_mode": "wal", "query_only": "1", "foreign_keys": "1", "synchronous": "2"}
	q := c.conn.(driver.QueryerContext)
	for name, v := range want {
		rows, err := q.QueryContext(context.Background(), "PRAGMA "+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		dest := make([]driver.Value, 1)
		if err := rows.Next(dest); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		rows.Close()
		if got := fmt.Sprint(dest[0]); got != v {
			t.Errorf("PRAGMA %s = %s, want %s", name, got, v)
		}
	}
}

// maxDigestAllocs bounds TokenByDigest's allocations for a used token: 11
// today, nearly all the driver's (its rows, the column's name, the row's
// text and its boxing, the bound blob's bookkeeping) and one for the last
// use; through database/sql it was 22. Two of slack.
const maxDigestAllocs = 13

func TestTokenByDigestAllocations(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "allocs", 1)
	if err := s.TouchToken(ctx, ids[0], u.CreatedAt, 0); err != nil {
		t.Fatal(err)
	}
	d := seedDigest("allocs", 0)
	got := testing.AllocsPerRun(200, func() {
		// The store read, as on a cache miss; a hit allocates nothing
		// (TestCachedTokenByDigestAllocatesNothing).
		if _, _, err := s.tokenByDigest(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations per TokenByDigest", got)
	if got > maxDigestAllocs {
		t.Errorf("TokenByDigest makes %.0f allocations, want at most %d", got, maxDigestAllocs)
	}
}

// TestSequentialLookupsUseOneConnection: idle connections are reused last
// in, first out, so one lookup at a time keeps one connection and its page
// cache warm instead of rotating through the pool (which doubled the time
// of a lookup in BenchmarkTokenByDigest).
func TestSequentialLookupsUseOneConnection(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	bulkInsert(t, s, u, "seq", 3)
	for i := range 20 {
		if _, _, err := s.TokenByDigest(ctx, seedDigest("seq", i%3)); err != nil {
			t.Fatal(err)
		}
	}
	s.digests.mu.Lock()
	open := len(s.digests.idle)
	s.digests.mu.Unlock()
	if open != 1 {
		t.Errorf("%d connections open after lookups one at a time, want 1", open)
	}
}

//go:build linux || darwin || freebsd

package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// cacheStats returns the store's hit and miss counts and fails the test
// when the cache is off: on the platforms tokend is tested on it must be
// on.
func cacheStats(t testing.TB, s *Store) (hits, misses uint64) {
	t.Helper()
	hits, misses, on := s.TokenCacheStats()
	if !on {
		t.Fatal("the token cache is off")
	}
	return hits, misses
}

// lookupTwice reads a token twice and checks the second read was a cache
// hit that returned what the store did.
func lookupTwice(t *testing.T, s *Store, d [32]byte) (store.Token, store.User) {
	t.Helper()
	ctx := context.Background()
	t1, u1, err := s.TokenByDigest(ctx, d)
	if err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	h0, _ := cacheStats(t, s)
	t2, u2, err := s.TokenByDigest(ctx, d)
	if err != nil {
		t.Fatalf("second lookup: %v", err)
	}
	if h1, _ := cacheStats(t, s); h1 != h0+1 {
		t.Fatalf("the second lookup of an unchanged token was not a cache hit (hits %d -> %d)", h0, h1)
	}
	if !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(u1, u2) {
		t.Fatalf("the cache answered %+v %+v, the store %+v %+v", t2, u2, t1, u1)
	}
	return t2, u2
}

func TestTokenCacheAnswersWhatTheStoreAnswered(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	nt := store.NewToken{ID: store.NewID(time.Now()), UserID: u.ID, Name: "n", Description: "d", KeyHint: "tkn_abcd…wxyz",
		Digest: seedDigest("same", 0), CreatedAt: time.Now().UTC().Truncate(time.Second),
		ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second), Scopes: []string{"b:x", "a:y"}}
	if _, _, err := s.CreateToken(ctx, nt); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(ctx, nt.ID, nt.CreatedAt, 0); err != nil {
		t.Fatal(err)
	}
	tok, _ := lookupTwice(t, s, nt.Digest)
	if tok.ID != nt.ID || !tok.ExpiresAt.Equal(nt.ExpiresAt) || tok.LastUsedAt == nil || len(tok.Scopes) != 2 {
		t.Fatalf("cached token %+v", tok)
	}
	// A caller appending to the scopes must not write into the cache.
	_ = append(tok.Scopes, "c:z")
	again, _, err := s.TokenByDigest(ctx, nt.Digest)
	if err != nil || len(again.Scopes) != 2 || cap(again.Scopes) != 2 {
		t.Fatalf("scopes after a caller's append: %q (cap %d), %v", again.Scopes, cap(again.Scopes), err)
	}
}

// TestTokenCacheSeesEveryCommit warms the cache with a token, changes the
// database in one way per case, and looks the token up once more: the
// lookup must answer what the store now holds, never the cached row.
func TestTokenCacheSeesEveryCommit(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, s *Store, other *sql.DB, u store.User, id string)
		gone   bool
	}{
		{"DeleteToken", func(t *testing.T, s *Store, _ *sql.DB, u store.User, id string) {
			if err := s.DeleteToken(context.Background(), u.ID, id); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"DeleteTokens", func(t *testing.T, s *Store, _ *sql.DB, u store.User, id string) {
			if _, _, err := s.DeleteTokens(context.Background(), u.ID, []string{id}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"RotateToken", func(t *testing.T, s *Store, _ *sql.DB, u store.User, id string) {
			if _, err := s.RotateToken(context.Background(), u.ID, id, seedDigest("rotated", 0), "h", time.Now(), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"DeleteUser", func(t *testing.T, s *Store, _ *sql.DB, u store.User, _ string) {
			if err := s.DeleteUser(context.Background(), u.Username); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a delete through another connection", func(t *testing.T, _ *Store, other *sql.DB, _ store.User, id string) {
			if _, err := other.Exec(`DELETE FROM tokens WHERE id = ?`, id); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"an expiry moved back through another connection", func(t *testing.T, _ *Store, other *sql.DB, _ store.User, id string) {
			if _, err := other.Exec(`UPDATE tokens SET expires_at = 1 WHERE id = ?`, id); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"an unrelated commit", func(t *testing.T, s *Store, _ *sql.DB, _ store.User, _ string) {
			seedUser(t, s, "bob")
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, path := openTemp(t)
			other, err := sql.Open("sqlite", dsn(path, false))
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			u := seedUser(t, s, "alice")
			ids := bulkInsert(t, s, u, "warm", 1)
			d := seedDigest("warm", 0)
			before, _ := lookupTwice(t, s, d)
			_, m0 := cacheStats(t, s)

			tc.change(t, s, other, u, ids[0])

			tok, _, err := s.TokenByDigest(context.Background(), d)
			if _, m1 := cacheStats(t, s); m1 != m0+1 {
				t.Errorf("the lookup after the commit did not read the store (misses %d -> %d)", m0, m1)
			}
			switch {
			case tc.gone && !errors.Is(err, store.ErrNotFound):
				t.Fatalf("lookup after the change: %+v, %v; want ErrNotFound", tok, err)
			case !tc.gone && err != nil:
				t.Fatalf("lookup after the change: %v", err)
			case !tc.gone && strings.Contains(tc.name, "expiry") && tok.ExpiresAt.Equal(before.ExpiresAt):
				t.Fatalf("lookup after the expiry moved answered the old expiry %s", tok.ExpiresAt)
			}
		})
	}
}

// TestTokenCacheFillRacingACommitIsNotServed deletes the token between the
// store read and the fill. The entry then carries the header read before
// the row, older than the delete's, so the next lookup reads the store. (A
// cache that read the header after the row would keep serving the deleted
// token until the next commit.)
func TestTokenCacheFillRacingACommitIsNotServed(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "race", 1)
	d := seedDigest("race", 0)
	s.cache.afterRead = func() {
		s.cache.afterRead = nil
		if err := s.DeleteToken(ctx, u.ID, ids[0]); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.TokenByDigest(ctx, d); err != nil {
		t.Fatalf("the lookup that read the row before the delete: %v", err)
	}
	if _, _, err := s.TokenByDigest(ctx, d); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the lookup after the delete: %v, want ErrNotFound", err)
	}
}

// TestWALIndexSeesCommitsFromAnotherProcess: the header mapped here is the
// one another process's SQLite (its own mapping of the same -shm) writes,
// and each commit there moves the change counter by one.
func TestWALIndexSeesCommitsFromAnotherProcess(t *testing.T) {
	if path := os.Getenv("TOKENCTL_SQLITE_COMMIT_CHILD"); path != "" {
		commitChild(path)
		return
	}
	s, path := openTemp(t)
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "proc", 3)
	d := seedDigest("proc", 1)
	lookupTwice(t, s, d)
	v0, ok := s.cache.wal.version()
	if !ok {
		t.Fatal("no header")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestWALIndexSeesCommitsFromAnotherProcess$")
	cmd.Env = append(os.Environ(), "TOKENCTL_SQLITE_COMMIT_CHILD="+path+"\n"+strings.Join(ids, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	v1, ok := s.cache.wal.version()
	if !ok {
		t.Fatal("no header after the child's commits")
	}
	if got := v1.changeCounter() - v0.changeCounter(); got != 3 {
		t.Errorf("the change counter moved by %d over the child's three commits, want 3", got)
	}
	if _, _, err := s.TokenByDigest(context.Background(), d); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup of a token the child deleted: %v, want ErrNotFound", err)
	}
}

// commitChild deletes the given tokens, one commit each, through its own
// Store.
func commitChild(arg string) {
	path, ids, _ := strings.Cut(arg, "\n")
	s, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	u, err := s.UserByName(context.Background(), "alice")
	if err == nil {
		for _, id := range strings.Fields(ids) {
			if err = s.DeleteToken(context.Background(), u.ID, id); err != nil {
				break
			}
		}
	}
	if err = errors.Join(err, s.Close()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestWALIndexFaultFallsBack truncates a mapped file: the read that
// faults is recovered, reports no header, and every later read says the
// same without touching the mapping, where a plain read would kill the
// process with SIGBUS.
func TestWALIndexFaultFallsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fake.db-shm")
	hdr := make([]byte, 4096)
	for _, off := range []int{0, 48} {
		binary.NativeEndian.PutUint32(hdr[off:], walIndexHeaderVersion)
		binary.NativeEndian.PutUint32(hdr[off+8:], 7) // iChange
		hdr[off+12] = 1                               // isInit
	}
	if err := os.WriteFile(path, hdr, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := openWALIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.release()
	v, ok := w.version()
	if !ok || v.changeCounter() != 7 {
		t.Fatalf("header of the fake file: %v, %v (counter %d)", v, ok, v.changeCounter())
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.version(); ok {
		t.Fatal("a header was read from a truncated file")
	}
	if !w.faulted.Load() {
		t.Fatal("the fault was not recorded")
	}
	if _, ok := w.version(); ok {
		t.Fatal("a header was read after a fault")
	}
}

// TestTornHeaderIsNotTrusted: copies that differ (a writer between them)
// or an uninitialised header are no header, so the lookup reads the store.
func TestTornHeaderIsNotTrusted(t *testing.T) {
	hdr := make([]byte, 4096)
	for _, off := range []int{0, 48} {
		binary.NativeEndian.PutUint32(hdr[off:], walIndexHeaderVersion)
		hdr[off+12] = 1
	}
	w0, err := openWALIndex(writeFile(t, "whole.db-shm", hdr))
	if err != nil {
		t.Fatal(err)
	}
	defer w0.release()
	if _, ok := w0.version(); !ok {
		t.Fatal("a whole header was not trusted")
	}
	hdr[8], hdr[56] = 1, 2 // iChange differs between the copies
	path := writeFile(t, "torn.db-shm", hdr)
	w, err := openWALIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.release()
	if _, ok := w.version(); ok {
		t.Fatal("copies that differ were trusted")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Equal copies, isInit 0.
	if _, err := f.WriteAt([]byte{2}, 8); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.version(); !ok {
		t.Fatal("equal copies were not trusted")
	}
	for _, off := range []int64{12, 48 + 12} {
		if _, err := f.WriteAt([]byte{0}, off); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := w.version(); ok {
		t.Fatal("an uninitialised header was trusted")
	}
}

// TestStoresOnOneFileShareOneMapping: a second Store of this process on
// the same file shares the first one's descriptor (closing a second
// descriptor would drop SQLite's locks on the -shm: see walIndex), and the
// last one to close unmaps it.
func TestStoresOnOneFileShareOneMapping(t *testing.T) {
	a, path := openTemp(t)
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if a.cache == nil || b.cache == nil || a.cache.wal != b.cache.wal {
		t.Fatal("the two stores do not share one mapping")
	}
	w := a.cache.wal
	u := seedUser(t, a, "alice")
	ids := bulkInsert(t, a, u, "two", 1)
	lookupTwice(t, a, seedDigest("two", 0))
	lookupTwice(t, b, seedDigest("two", 0))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	walIndexes.mu.Lock()
	refs, held := w.refs, walIndexes.m[w.key] == w
	walIndexes.mu.Unlock()
	if refs != 1 || !held {
		t.Fatalf("after one of two stores closed: refs %d, registered %v", refs, held)
	}
	if err := a.DeleteToken(t.Context(), u.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.TokenByDigest(t.Context(), seedDigest("two", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup after the delete: %v", err)
	}
	if _, _, err := b.TokenByDigest(t.Context(), seedDigest("two", 0)); err == nil {
		t.Fatal("a closed store answered a lookup")
	}
}

// TestNoCacheWithoutWAL: on a database in rollback-journal mode there is
// no WAL-index to watch, so there is no cache.
func TestNoCacheWithoutWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollback.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	c, err := openTokenCache(t.Context(), db.Driver(), "file:"+path+"?_pragma=journal_mode(DELETE)", path)
	if err == nil || c != nil || !strings.Contains(err.Error(), "not wal") {
		t.Fatalf("token cache on a rollback-journal database: %v, %v", c, err)
	}
}

func TestCachedTokenByDigestAllocatesNothing(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "allocs", 1)
	if err := s.TouchToken(ctx, ids[0], u.CreatedAt, 0); err != nil {
		t.Fatal(err)
	}
	d := seedDigest("allocs", 0)
	lookupTwice(t, s, d)
	got := testing.AllocsPerRun(200, func() {
		if _, _, err := s.TokenByDigest(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
	if got != 0 {
		t.Errorf("a cached TokenByDigest makes %.0f allocations, want 0", got)
	}
}

// BenchmarkTokenByDigestStore is the store read a cache miss makes.
func BenchmarkTokenByDigestStore(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	bulkInsert(b, s, u, "bench", benchRows)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, _, err := s.tokenByDigest(ctx, seedDigest("bench", i%benchRows)); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkTokenByDigestCached is a cache hit, one token.
func BenchmarkTokenByDigestCached(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	bulkInsert(b, s, u, "bench", 1)
	ctx := context.Background()
	d := seedDigest("bench", 0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.TokenByDigest(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	hits, misses := cacheStats(b, s)
	b.ReportMetric(float64(hits)/float64(hits+misses), "hit-ratio")
}

// BenchmarkWALIndexRead: the header read from the mapping, as every
// lookup does, against a pread(2) of the same 96 bytes.
func BenchmarkWALIndexRead(b *testing.B) {
	s, path := openTemp(b)
	b.Run("mmap", func(b *testing.B) {
		for b.Loop() {
			if _, ok := s.cache.wal.version(); !ok {
				b.Fatal("no header")
			}
		}
	})
	b.Run("pread", func(b *testing.B) {
		// Only for comparison: this descriptor is never closed before the
		// store's connections are (see walIndex).
		f, err := os.Open(path + "-shm")
		if err != nil {
			b.Fatal(err)
		}
		walIndexes.mu.Lock()
		keepOpen(f)
		walIndexes.mu.Unlock()
		var buf [shmHeaderSize]byte
		for b.Loop() {
			if _, err := f.ReadAt(buf[:], 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTokenCacheThroughASymlink: SQLite names the -shm after the database's
// real path, so the mapping must too; a commit through the real path is
// seen by a store opened through a link.
func TestTokenCacheThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := createPrivate(real); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), link)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(link + "-shm"); err == nil {
		t.Fatalf("SQLite made %s-shm: it does not resolve links the way shmPath assumes", link)
	}
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "link", 1)
	lookupTwice(t, s, seedDigest("link", 0))
	other, err := sql.Open("sqlite", dsn(real, false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`DELETE FROM tokens WHERE id = ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenByDigest(t.Context(), seedDigest("link", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup through the link after a delete through the real path: %v", err)
	}
}

// TestTokenCacheUnderConcurrentLookups: goroutines look tokens up in a loop
// while they are deleted one by one; no lookup that starts after a delete
// returned finds that token.
func TestTokenCacheUnderConcurrentLookups(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	const n = 40
	ids := bulkInsert(t, s, u, "conc", n)
	var deleted [n]atomic.Bool
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg, warm sync.WaitGroup
	warm.Add(4)
	for w := range 4 {
		wg.Go(func() {
			warmed := false
			defer func() {
				if !warmed { // an early error must not leave the deletes waiting
					warm.Done()
				}
			}()
			for i := w; ; i++ {
				if i == w+2*n {
					warm.Done() // two rounds of every token, before any delete
					warmed = true
				}
				select {
				case <-stop:
					return
				default:
				}
				k := i % n
				gone := deleted[k].Load() // before the lookup starts
				_, _, err := s.TokenByDigest(ctx, seedDigest("conc", k))
				switch {
				case gone && err == nil:
					errs <- fmt.Errorf("token %d found after its delete returned", k)
					return
				case err != nil && !errors.Is(err, store.ErrNotFound):
					errs <- err
					return
				}
			}
		})
	}
	warm.Wait()
	if hits, _ := cacheStats(t, s); hits == 0 {
		t.Fatal("no lookup was a cache hit: the test would not exercise the cache")
	}
	for k, id := range ids {
		if err := s.DeleteToken(ctx, u.ID, id); err != nil {
			t.Fatal(err)
		}
		deleted[k].Store(true)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

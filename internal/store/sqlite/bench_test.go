package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/storetest"
)

// seedUser creates a user for benchmarks and bulk tests.
func seedUser(tb testing.TB, s *Store, name string) store.User {
	tb.Helper()
	u := store.User{ID: store.NewID(time.Now()), Username: name, PasswordHash: "h", CreatedAt: time.Now()}
	if err := s.CreateUser(context.Background(), u); err != nil {
		tb.Fatal(err)
	}
	return u
}

// seedDigest is the digest of the n-th bulk token of a seed.
func seedDigest(seed string, n int) [32]byte {
	b := binary.BigEndian.AppendUint64([]byte(seed), uint64(n))
	return sha256.Sum256(b)
}

// bulkInsert adds n tokens for u in one transaction through one prepared
// statement (seconds for 100k rows, where one CreateToken per row would
// fsync 100k times) and returns their ids, oldest first.
func bulkInsert(tb testing.TB, s *Store, u store.User, seed string, n int) []string {
	tb.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	start := time.Now().Add(-time.Duration(n) * time.Millisecond)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx,
			`INSERT INTO tokens (id, user_id, name, description, key_hint, digest, created_at, expires_at)
			 VALUES (?, ?, ?, '', 'tkn_abcd…wxyz', ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			at := start.Add(time.Duration(i) * time.Millisecond)
			ids[i] = store.NewID(at)
			d := seedDigest(seed, i)
			if _, err := stmt.ExecContext(ctx, ids[i], u.ID, fmt.Sprintf("%s-%d", seed, i), d[:],
				toDB(at), toDB(at.Add(24*time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("bulk insert: %v", err)
	}
	return ids
}

const benchRows = 10_000

func BenchmarkTokenByDigest(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	bulkInsert(b, s, u, "bench", benchRows)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, _, err := s.TokenByDigest(ctx, seedDigest("bench", i%benchRows)); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime stride, so lookups jump around the index
	}
}

// BenchmarkTouchTokenWithinInterval is the common case of TouchToken: the
// token was used a moment ago, so nothing is written.
func BenchmarkTouchTokenWithinInterval(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	ids := bulkInsert(b, s, u, "bench", benchRows)
	ctx := context.Background()
	now := time.Now()
	if err := s.TouchToken(ctx, ids[0], now, time.Minute); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.TouchToken(ctx, ids[0], now.Add(time.Second), time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateToken(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	bulkInsert(b, s, u, "bench", benchRows)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		now := time.Now()
		nt := store.NewToken{
			ID: store.NewID(now), UserID: u.ID, Name: "bench", KeyHint: "tkn_abcd…wxyz",
			Digest: seedDigest("create", i), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
		if _, _, err := s.CreateToken(ctx, nt); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkScanTokensPage100(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	bulkInsert(b, s, u, "bench", benchRows)
	bulkInsert(b, s, seedUser(b, s, "bob"), "other", benchRows) // another user's rows in the same index
	ctx := context.Background()
	opts := store.ListOptions{UserID: u.ID, Status: store.StatusActive, Now: time.Now(), Limit: 100}
	for b.Loop() {
		page, err := storetest.List(ctx, s, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) < opts.Limit {
			opts.BeforeID = "" // wrap around to the first page
		} else {
			opts.BeforeID = page[len(page)-1].ID
		}
	}
}

func BenchmarkDeleteTokens1000(b *testing.B) {
	s, _ := openTemp(b)
	u := seedUser(b, s, "alice")
	bulkInsert(b, s, u, "keep", benchRows)
	ctx := context.Background()
	round := 0
	for b.Loop() {
		b.StopTimer()
		ids := bulkInsert(b, s, u, fmt.Sprint("round", round), 1000)
		round++
		b.StartTimer()
		deleted, _, err := s.DeleteTokens(ctx, u.ID, ids)
		if err != nil || len(deleted) != len(ids) {
			b.Fatalf("deleted %d of %d: %v", len(deleted), len(ids), err)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestPagingThroughManyTokensKeepsHeapFlat lists 100,000 tokens 100 at a
// time. Keyset pagination holds one page at a time, so the heap at the end
// is about what it was at the start; a leak (rows or statements not
// closed) or an OFFSET-style rescan would show here. The figures are logged
// (go test -v -run PagingThrough), only a generous bound is asserted.
func TestPagingThroughManyTokensKeepsHeapFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 100,000 rows")
	}
	const n = 100_000
	s, _ := openTemp(t)
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "page", n)
	ctx := t.Context()

	before := heapInUse()
	opts := store.ListOptions{UserID: u.ID, Limit: 100}
	seen, pages := 0, 0
	var peak uint64
	for {
		page, err := storetest.List(ctx, s, opts)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for i, tok := range page {
			if want := ids[n-1-seen-i]; tok.ID != want {
				t.Fatalf("page %d item %d = %s, want %s", pages, i, tok.ID, want)
			}
		}
		seen += len(page)
		pages++
		if pages%250 == 0 {
			peak = max(peak, heapInUse())
		}
		if len(page) < opts.Limit {
			break
		}
		opts.BeforeID = page[len(page)-1].ID
	}
	after := heapInUse()
	runtime.KeepAlive(ids) // measure paging alone, not the release of the id list
	if seen != n {
		t.Fatalf("paged through %d tokens, want %d", seen, n)
	}
	t.Logf("paged %d tokens in %d pages: heap in use %.1f MiB before, %.1f MiB peak (sampled), %.1f MiB after",
		seen, pages, mib(before), mib(max(peak, after)), mib(after))
	if after > before && after-before > 64<<20 {
		t.Fatalf("heap grew by %.1f MiB while paging", mib(after-before))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

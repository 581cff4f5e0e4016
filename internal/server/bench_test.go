package server

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

// bulkSeed inserts n tokens for u in one transaction on the store's file.
// CreateToken fsyncs every commit, which would make 100,000 rows take
// minutes; this knows the sqlite schema and is only for test setup.
func bulkSeed(tb testing.TB, dbPath string, u store.User, seed string, n int) []string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO tokens (id, user_id, name, description, key_hint, digest, created_at, expires_at)
		VALUES (?, ?, ?, '', 'tkn_abcd…wxyz', ?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, n)
	start := time.Now().Add(-time.Duration(n) * time.Millisecond)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Millisecond)
		ids[i] = store.NewID(at)
		d := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(seed), uint64(i)))
		if _, err := stmt.ExecContext(ctx, ids[i], u.ID, fmt.Sprintf("%s-%d", seed, i), d[:],
			at.UnixNano(), at.Add(24*time.Hour).UnixNano()); err != nil {
			tb.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return ids
}

func benchRequest(b *testing.B, h http.Handler, method, path, auth, body string, want int) {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// discardWriter is a ResponseWriter that keeps only the status, so a
// benchmark counts the handler's allocations and not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	return len(b), nil
}
func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// authEnv is a server with 10,000 tokens of alice's and the Authorization
// value of one more, already used (so last_used_at is fresh and the
// request is the read-only hot path).
func authEnv(tb testing.TB) (*testEnv, string) {
	e := newTestEnv(tb, roomy)
	u := e.addUser("alice", "pw")
	bulkSeed(tb, e.dbPath, u, "bench", 10_000)
	auth := bearer(e.login("alice", "pw"))
	if res := e.do(req{method: "GET", path: "/v1/user", auth: auth}); res.status != 200 {
		tb.Fatalf("GET /v1/user: %d %s", res.status, res.body)
	}
	return e, auth
}

// serveAuthenticated runs one GET /v1/user through the whole handler chain
// (request id, access log, recover, rate limit, body limit, routing,
// checksum, digest lookup, JSON) with a request built once, as net/http
// would hand it over.
func serveAuthenticated(tb testing.TB, h http.Handler, r *http.Request, w *discardWriter) {
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != 200 || w.n == 0 {
		tb.Fatalf("GET /v1/user: %d", w.status)
	}
}

// BenchmarkAuthenticateBearer: GET /v1/user through the whole handler on a
// table of 10,000 tokens; its allocs/op is the figure docs/benchmarks.md
// quotes.
func BenchmarkAuthenticateBearer(b *testing.B) {
	e, auth := authEnv(b)
	r := httptest.NewRequest("GET", "/v1/user", nil)
	r.Header.Set("Authorization", auth)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		serveAuthenticated(b, e.h, r, w)
	}
}

// BenchmarkAuthenticateBearerParallel is the same under GOMAXPROCS
// goroutines, like a server under load: it shows contention on the read
// pool and the log.
func BenchmarkAuthenticateBearerParallel(b *testing.B) {
	e, auth := authEnv(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/v1/user", nil)
		r.Header.Set("Authorization", auth)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			serveAuthenticated(b, e.h, r, w)
		}
	})
}

func BenchmarkCreate(b *testing.B) {
	e := newTestEnv(b, roomy)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	body := `{"name":"bench","expires_in_seconds":3600}`
	for b.Loop() {
		benchRequest(b, e.h, "POST", "/v1/tokens", auth, body, 201)
	}
}

func BenchmarkListPage100(b *testing.B) {
	e := newTestEnv(b, roomy)
	u := e.addUser("alice", "pw")
	bulkSeed(b, e.dbPath, u, "bench", 10_000)
	auth := bearer(e.login("alice", "pw"))
	// Walk the pages, starting over at the end, so every iteration is a
	// real keyset page rather than the same first page.
	cursor := ""
	for b.Loop() {
		path := "/v1/tokens?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		var page api.TokenPage
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			b.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
		cursor = ""
		if page.NextCursor != nil {
			cursor = *page.NextCursor
		}
	}
}

func BenchmarkBulkDelete1000(b *testing.B) {
	e := newTestEnv(b, roomy)
	u := e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	round := 0
	for b.Loop() {
		b.StopTimer()
		ids := bulkSeed(b, e.dbPath, u, fmt.Sprint("round", round), 1000)
		round++
		body, _ := json.Marshal(api.BulkDeleteRequest{IDs: ids})
		b.StartTimer()
		benchRequest(b, e.h, "POST", "/v1/tokens/delete", auth, string(body), 200)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestListing100kTokensKeepsHeapFlat pages through 100,000 tokens 100 at a
// time through the handler. A page holds at most limit rows, so the heap at
// the end is about the heap at the start. Figures: go test -v -run 100k.
func TestListing100kTokensKeepsHeapFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 tokens")
	}
	const n = 100_000
	e := newTestEnv(t, roomy)
	e.validate = false
	u := e.addUser("alice", "pw")
	ids := bulkSeed(t, e.dbPath, u, "page", n)
	auth := bearer(e.login("alice", "pw"))

	before := heapInUse()
	var peak uint64
	seen, pages, cursor := 0, 0, ""
	for {
		path := "/v1/tokens?limit=100&name=page-*"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(req{method: "GET", path: path, auth: auth})
		var page api.TokenPage
		res.decode(t, &page)
		for i, it := range page.Items {
			if want := ids[n-1-seen-i]; it.ID != want {
				t.Fatalf("page %d item %d = %s, want %s", pages, i, it.ID, want)
			}
		}
		seen += len(page.Items)
		pages++
		if pages%100 == 0 {
			peak = max(peak, heapInUse())
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	after := heapInUse()
	t.Logf("listed %d tokens in %d pages; heap in use: start %.1f MiB, peak %.1f MiB, end %.1f MiB",
		seen, pages, mib(before), mib(peak), mib(after))
	if seen != n || pages != n/100 {
		t.Fatalf("listed %d tokens in %d pages, want %d in %d", seen, pages, n, n/100)
	}
	// Generous: holding all 100,000 tokens would add well over 30 MiB.
	if after > before+16<<20 || peak > before+16<<20 {
		t.Errorf("heap grew while paging: start %.1f MiB, peak %.1f MiB, end %.1f MiB", mib(before), mib(peak), mib(after))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// maxAuthAllocs bounds the allocations of one authenticated GET /v1/user
// through the whole handler chain. Allocation counts are deterministic,
// unlike times, so this can be a test. 7 today, with SQLite's token cache
// answering the known token from memory (issue 26); 18 with a store read
// (docs/benchmarks.md lists them by site), so the bound, which also holds
// for a cache miss, keeps two of slack over that; the chain was at 90
// before the hot path was worked on and at 37 before the digest lookup
// left database/sql.
const maxAuthAllocs = 20

// maxAuthAllocsCancelable is the same request with a context that can be
// cancelled, as net/http hands every handler: the SQLite driver then
// watches the context while the lookup runs (a goroutine, its channel and
// closures: four allocations more). 22 with a store read, two of slack;
// 7 on a cache hit, where no statement runs.
const maxAuthAllocsCancelable = 24

func TestAuthenticatedRequestAllocations(t *testing.T) {
	e, auth := authEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		max  int
	}{
		{"background context", context.Background(), maxAuthAllocs + raceAllocSlack},
		{"cancelable context", ctx, maxAuthAllocsCancelable + raceAllocSlack},
	} {
		r := httptest.NewRequestWithContext(c.ctx, "GET", "/v1/user", nil)
		r.Header.Set("Authorization", auth)
		w := &discardWriter{h: http.Header{}}
		serveAuthenticated(t, e.h, r, w) // warm the statement cache and pools
		got := testing.AllocsPerRun(200, func() { serveAuthenticated(t, e.h, r, w) })
		t.Logf("%s: %.0f allocations per authenticated request", c.name, got)
		if got > float64(c.max) {
			t.Errorf("%s: an authenticated GET /v1/user makes %.0f allocations, want at most %d", c.name, got, c.max)
		}
	}
}

// BenchmarkAuthCheck is the forward-auth hot path; it must cost what
// BenchmarkAuthenticateBearer (GET /v1/user) costs.
func BenchmarkAuthCheck(b *testing.B) {
	e := newTestEnv(b, roomy)
	u := e.addUser("alice", "pw")
	e.addScope("deploy:write")
	bulkSeed(b, e.dbPath, u, "bench", 10_000)
	auth := bearer(e.create(basic("alice", "pw"), map[string]any{"name": "proxy", "scopes": []string{"deploy:write"}}).Secret)
	r := httptest.NewRequest("GET", "/v1/auth/check?scope=deploy:write", nil)
	r.Header.Set("Authorization", auth)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.h.ServeHTTP(w, r)
		if w.status != http.StatusNoContent {
			b.Fatalf("GET /v1/auth/check: %d", w.status)
		}
	}
}

// roomy lifts the live-token ceiling for benchmarks that seed 10,000 tokens.
func roomy(c *Config) { c.MaxTokensPerUser = 1_000_000 }

package server

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// TestTokenCacheNeverServesAnExpiredToken warms SQLite's token cache with a
// token, moves the clock to the token's expiry and past it, and checks
// that the answers come from the cache (no commit happened in between)
// and refuse the token: an entry carries expires_at, which is checked on
// every request, cached or not.
func TestTokenCacheNeverServesAnExpiredToken(t *testing.T) {
	e := newTestEnv(t, roomy)
	e.addUser("alice", "pw")
	ct := e.create(bearer(e.login("alice", "pw")), map[string]any{"name": "short", "expires_in_seconds": 120})
	var st *sqlite.Store = e.st.Store // the real SQLite store: no mock in between
	stats := func() (uint64, uint64) {
		h, m, on := st.TokenCacheStats()
		if !on {
			t.Fatal("the token cache is off")
		}
		return h, m
	}
	get := func() resp {
		return e.do(req{method: "GET", path: "/v1/user", auth: bearer(ct.Secret)})
	}
	// The first use records last_used_at (a commit); the second reads the
	// token again and fills the cache; the third is a hit.
	for i := range 3 {
		if res := get(); res.status != 200 {
			t.Fatalf("use %d of a fresh token: %d %s", i, res.status, res.body)
		}
	}
	h0, m0 := stats()
	if res := get(); res.status != 200 {
		t.Fatalf("use of a fresh token: %d %s", res.status, res.body)
	}
	if h, m := stats(); h != h0+1 || m != m0 {
		t.Fatalf("a repeated use was not a cache hit: hits %d -> %d, misses %d -> %d", h0, h, m0, m)
	}

	expires := ct.ExpiresAt
	e.clock.Advance(expires.Sub(e.clock.Now()) - time.Second)
	// The first use records last_used_at again (a minute has passed), the
	// second fills the cache.
	for range 2 {
		if res := get(); res.status != 200 {
			t.Fatalf("a second before expiry: %d %s", res.status, res.body)
		}
	}
	for _, at := range []time.Duration{0, time.Nanosecond, time.Hour} {
		e.clock.Advance(expires.Add(at).Sub(e.clock.Now()))
		h0, m0 = stats()
		res := get()
		if res.status != 401 || !strings.Contains(string(res.body), "expired") {
			t.Fatalf("at expiry + %s: %d %s, want 401 expired", at, res.status, res.body)
		}
		h, m := stats()
		if at == 0 && (h != h0+1 || m != m0) {
			// The refusal before it recorded an audit event (a commit),
			// so only the first answer past expiry is sure to be a hit.
			t.Fatalf("the refusal at expiry did not come from the cache: hits %d -> %d, misses %d -> %d", h0, h, m0, m)
		}
	}
}

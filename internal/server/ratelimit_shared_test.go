package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// memThrottle is a store.LoginThrottle in memory, standing in for the
// database two replicas share (the PostgreSQL one is tested against a real
// cluster in internal/store/postgres and, across two tokend processes, in
// internal/tokend). down makes every call fail, as an unreachable database.
type memThrottle struct {
	mu   sync.Mutex
	w    map[string]*store.LoginWindow
	down bool
}

var errDown = errors.New("database unreachable")

func (m *memThrottle) open(key string, now time.Time, window time.Duration) *store.LoginWindow {
	w, ok := m.w[key]
	if !ok || !now.Before(w.Start.Add(window)) {
		w = &store.LoginWindow{Key: key, Start: now}
		m.w[key] = w
	}
	return w
}

func (m *memThrottle) ReserveLogin(_ context.Context, key string, now time.Time, window time.Duration, limit int) (store.LoginWindow, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return store.LoginWindow{}, false, errDown
	}
	w := m.open(key, now, window)
	if w.Failures+w.Pending >= limit {
		return *w, false, nil
	}
	w.Pending++
	return *w, true, nil
}

func (m *memThrottle) SettleLogin(_ context.Context, key string, start time.Time, failed bool, now time.Time, window time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errDown
	}
	if w, ok := m.w[key]; ok && w.Start.Equal(start) {
		w.Pending--
		if failed && now.Before(start.Add(window)) {
			w.Failures++
			return nil
		}
	}
	if failed {
		m.open(key, now, window).Failures++
	}
	return nil
}

func (m *memThrottle) CountLoginFailure(_ context.Context, key string, now time.Time, window time.Duration) (store.LoginWindow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return store.LoginWindow{}, errDown
	}
	w := m.open(key, now, window)
	w.Failures++
	return *w, nil
}

func (m *memThrottle) BlockedLogins(_ context.Context, now time.Time, window time.Duration, limit, max int) ([]store.LoginWindow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, errDown
	}
	var ws []store.LoginWindow
	for _, w := range m.w {
		if w.Failures >= limit && now.Before(w.Start.Add(window)) && len(ws) < max {
			ws = append(ws, *w)
		}
	}
	return ws, nil
}

type throttledStore struct {
	store.Store
	*memThrottle
}

// replicas returns two handlers over one store and one shared budget, as
// two tokend processes on one PostgreSQL database.
func replicas(t *testing.T, limit int) (*testEnv, *memThrottle, [2]http.Handler) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = limit; c.PasswordFailures = limit })
	e.addUser("alice", "pw")
	thr := &memThrottle{w: map[string]*store.LoginWindow{}}
	st := throttledStore{e.st.Store, thr}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	return e, thr, [2]http.Handler{New(e.cfg, st, logger), New(e.cfg, st, logger)}
}

func call(h http.Handler, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/v1/user", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	r.RemoteAddr = "198.51.100.9:4444"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// A burst of wrong passwords spread over two replicas meets the same limit
// as on one: the (limit+1)th attempt is 429 whichever replica gets it, and
// so is a right password.
func TestSharedLimitSpansReplicas(t *testing.T) {
	const limit = 6
	for first := range 2 {
		_, _, hs := replicas(t, limit)
		for i := range limit {
			if got := call(hs[(first+i)%2], basic("alice", "guess-Zq9")).Code; got != http.StatusUnauthorized {
				t.Fatalf("wrong password %d = %d, want 401", i+1, got)
			}
		}
		for _, h := range hs {
			for _, pw := range []string{"guess-Zq9", "pw"} {
				res := call(h, basic("alice", pw))
				if res.Code != http.StatusTooManyRequests || res.Header().Get("Retry-After") == "1" {
					t.Fatalf("attempt %d with %q = %d (Retry-After %s), want 429 until the window ends",
						limit+1, pw, res.Code, res.Header().Get("Retry-After"))
				}
			}
		}
	}
}

// A failing token on one replica learns of a block made on the other from
// the poll, within about a second and without a store write of its own;
// a valid token from the address is never refused.
func TestSharedBlockReachesFailingTokens(t *testing.T) {
	const limit = 3
	e, thr, hs := replicas(t, limit)
	good := bearer(e.login("alice", "pw"))
	for range limit {
		if got := call(hs[1], "Bearer nope").Code; got != http.StatusUnauthorized {
			t.Fatalf("bad token on B = %d, want 401", got)
		}
	}
	e.clock.Advance(sharedPoll)
	deadline := time.Now().Add(5 * time.Second)
	for call(hs[0], "Bearer nope").Code != http.StatusTooManyRequests {
		if time.Now().After(deadline) {
			t.Fatal("A never refused a bad token from the address B blocked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	thr.mu.Lock()
	counted := thr.w[kindCredential+"198.51.100.9"].Failures
	thr.mu.Unlock()
	for range 5 {
		call(hs[0], "Bearer nope")
	}
	thr.mu.Lock()
	after := thr.w[kindCredential+"198.51.100.9"].Failures
	thr.mu.Unlock()
	if after != counted {
		t.Errorf("refusals of a blocked address wrote to the store: failures %d -> %d", counted, after)
	}
	for i, h := range hs {
		if got := call(h, good).Code; got != http.StatusOK {
			t.Errorf("a valid token on replica %d from the blocked address = %d, want 200", i, got)
		}
	}
}

// With the shared store down each replica still limits what it sees.
func TestSharedLimitFallsBackToMemory(t *testing.T) {
	const limit = 3
	e, thr, hs := replicas(t, limit)
	thr.mu.Lock()
	thr.down = true
	thr.mu.Unlock()
	for i := range limit {
		if got := call(hs[0], basic("alice", "guess-Zq9")).Code; got != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d, want 401", i+1, got)
		}
	}
	if got := call(hs[0], basic("alice", "guess-Zq9")).Code; got != http.StatusTooManyRequests {
		t.Fatalf("attempt %d on the same replica = %d, want 429", limit+1, got)
	}
	if !strings.Contains(e.logs.String(), "counting in memory only") {
		t.Errorf("no warning that the shared limiter is down:\n%s", e.logs)
	}
	if strings.Contains(e.logs.String(), "guess-Zq9") {
		t.Errorf("a password reached the log:\n%s", e.logs)
	}
}

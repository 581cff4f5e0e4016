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
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = limit })
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

// Requests that are not password checks learn of a block made on the other
// replica from the poll, within about a second and without a store round
// trip of their own.
func TestSharedBlockReachesEveryRequest(t *testing.T) {
	const limit = 3
	e, _, hs := replicas(t, limit)
	if got := call(hs[0], "").Code; got != http.StatusUnauthorized {
		t.Fatalf("no credentials on A = %d, want 401", got)
	}
	for range limit {
		call(hs[1], basic("alice", "guess-Zq9"))
	}
	e.clock.Advance(sharedPoll)
	deadline := time.Now().Add(5 * time.Second)
	for call(hs[0], "").Code != http.StatusTooManyRequests {
		if time.Now().After(deadline) {
			t.Fatal("A never refused the address B blocked")
		}
		time.Sleep(10 * time.Millisecond)
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

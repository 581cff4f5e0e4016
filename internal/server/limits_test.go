package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

// wantLimited checks a 429: rate_limited, a Retry-After within the window,
// and a detail naming whose failures it is.
func wantLimited(t *testing.T, what string, res resp, detail string) {
	t.Helper()
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("%s: %d %s, want 429", what, res.status, res.body)
	}
	p := res.problem(t)
	if p.Code != api.CodeRateLimited || !strings.Contains(p.Detail, detail) {
		t.Errorf("%s: code %q detail %q, want rate_limited and %q", what, p.Code, p.Detail, detail)
	}
	if secs, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("%s: Retry-After = %q, want 1..60 seconds", what, res.header.Get("Retry-After"))
	}
}

// Issue 20: ten unknown tokens from one address used to make every request
// from it 429 for a minute, valid tokens and passwords included. Now only
// the failing requests are refused.
func TestValidCredentialIsNeverRefusedForFailures(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addUser("bob", "pw2")
	good := bearer(e.login("alice", "pw"))
	const shared = "198.51.100.7:5555" // a proxy, a CI egress, an office NAT

	for i := range DefaultAuthFailures {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer tkn_stale" + strconv.Itoa(i), remote: shared}); res.status != 401 {
			t.Fatalf("bad token %d: %d, want 401", i+1, res.status)
		}
	}
	// Past the budget a failing token gets 429 where it would get 401...
	wantLimited(t, "a bad token past the budget", e.do(req{method: "GET", path: "/v1/user", auth: "Bearer tkn_stale", remote: shared}), "failed credentials")
	wantLimited(t, "auth/check with a bad token past the budget", e.do(req{method: "GET", path: "/v1/auth/check", auth: "Bearer tkn_stale", remote: shared}), "failed credentials")
	// ...and nothing else from the address is refused.
	for _, rq := range []req{
		{method: "GET", path: "/v1/user", auth: good},
		{method: "GET", path: "/v1/auth/check", auth: good},
		{method: "GET", path: "/v1/tokens", auth: good},
		{method: "GET", path: "/v1/user", auth: basic("bob", "pw2")},
	} {
		rq.remote = shared
		if res := e.do(rq); res.status != 200 && res.status != 204 {
			t.Errorf("%s %s with a valid credential from the address: %d, want success", rq.method, rq.path, res.status)
		}
	}
	// A user's own wrong passwords do not touch their tokens either.
	for range DefaultPasswordFailures + 1 {
		e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "typo"), remote: shared})
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: good, remote: shared}); res.status != 200 {
		t.Errorf("alice's token after her own typos: %d, want 200", res.status)
	}
	// Once the window has passed the address's bad tokens get 401 again.
	e.clock.Advance(DefaultAuthFailWindow + time.Second)
	if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer tkn_stale", remote: shared}); res.status != 401 {
		t.Errorf("a bad token after the window: %d, want 401", res.status)
	}
}

// Wrong passwords are limited per account and address: past the budget
// that account from that address is refused before the hash, right
// password included (else the answer would tell a guesser it was right),
// while a colleague at the same address and the same account elsewhere
// sign in.
func TestPasswordBudgetIsPerAccountAndAddress(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.PasswordFailures = 3 })
	e.addUser("alice", "pw")
	e.addUser("bob", "pw2")
	const office = "198.51.100.8:1"
	for i := range 3 {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", fmt.Sprint("typo-", i)), remote: office}); res.status != 401 {
			t.Fatalf("typo %d: %d, want 401", i+1, res.status)
		}
	}
	wantLimited(t, "alice's next typo", e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "typo"), remote: office}), "for this account")
	wantLimited(t, "alice's right password", e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw"), remote: office}), "for this account")
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("bob", "pw2"), remote: office}); res.status != 200 {
		t.Errorf("bob at the same address: %d, want 200", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw"), remote: "203.0.113.9:1"}); res.status != 200 {
		t.Errorf("alice from another address: %d, want 200", res.status)
	}
	e.clock.Advance(DefaultAuthFailWindow + time.Second)
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw"), remote: office}); res.status != 200 {
		t.Errorf("alice after the window: %d, want 200", res.status)
	}
}

// One address trying a password over many accounts meets the looser
// per-address budget, unknown usernames included.
func TestPasswordSprayIsLimitedPerAddress(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.PasswordFailures = 3; c.PasswordFailuresPerAddress = 4 })
	e.addUser("bob", "pw2")
	const sprayer = "198.51.100.9:1"
	for i := range 4 {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: basic(fmt.Sprint("user", i), "Summer2026!"), remote: sprayer}); res.status != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, res.status)
		}
	}
	wantLimited(t, "a fifth account", e.do(req{method: "GET", path: "/v1/user", auth: basic("user9", "Summer2026!"), remote: sprayer}), "from this address")
	wantLimited(t, "a right password from the address", e.do(req{method: "GET", path: "/v1/user", auth: basic("bob", "pw2"), remote: sprayer}), "from this address")
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("bob", "pw2"), remote: "203.0.113.9:1"}); res.status != 200 {
		t.Errorf("bob from another address: %d, want 200", res.status)
	}
}

// The account part of a limiter key never holds the username as typed: a
// password typed into the username field must not reach the store.
func TestAccountKeyHidesTheUsername(t *testing.T) {
	k := accountKey("198.51.100.1", "correct-horse-battery")
	if strings.Contains(k, "correct") || !strings.HasPrefix(k, kindPasswordAccount+"198.51.100.1 ") {
		t.Errorf("accountKey = %q", k)
	}
	if accountKey("198.51.100.1", "alice") == accountKey("198.51.100.1", "bob") {
		t.Error("two accounts share a key")
	}
}

// gatedStore is the real store whose user lookups, which run inside a
// password-check slot, wait for release, so a test can hold the slots
// full and count how many run at once.
type gatedStore struct {
	store.Store
	release chan struct{}
	running atomic.Int32
	peak    atomic.Int32
}

func (g *gatedStore) UserByName(ctx context.Context, name string) (store.User, error) {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	<-g.release
	return g.Store.UserByName(ctx, name)
}

// Issue 20: 64 concurrent password sign-ins hashed all at once took tokend
// from 18 MB to a 139 MB peak. At most PasswordChecks run; a short queue
// waits; the rest get 503 password_checks_busy with Retry-After at once.
func TestPasswordChecksAreBounded(t *testing.T) {
	const slots = 2
	queue := PasswordQueuePerCheck * slots
	e := newTestEnv(t, func(c *Config) { c.PasswordChecks = slots })
	e.addUser("alice", "pw")
	gs := &gatedStore{Store: e.st, release: make(chan struct{})}
	e.h = New(e.cfg, gs, nil)

	// Each sign-in from its own address, so no failure budget interferes.
	signIn := func(i int) resp {
		return e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw"), remote: fmt.Sprintf("10.0.%d.%d:1", i/256, i%256)})
	}
	var wg sync.WaitGroup
	for i := range slots {
		wg.Go(func() {
			if res := signIn(i); res.status != 200 {
				t.Errorf("a sign-in in a slot: %d, want 200", res.status)
			}
		})
	}
	for gs.running.Load() < slots {
		runtime.Gosched()
	}
	// With the slots held, queue of the next sign-ins wait and the rest
	// are refused at once: the first answers are exactly those refusals.
	const over = 3
	answers := make(chan resp, queue+over)
	for i := range queue + over {
		wg.Go(func() { answers <- signIn(slots + i) })
	}
	for range over {
		res := <-answers
		if res.status != http.StatusServiceUnavailable {
			t.Fatalf("a sign-in past the slots and the queue: %d %s, want 503", res.status, res.body)
		}
		if p := res.problem(t); p.Code != api.CodePasswordChecksBusy || res.header.Get("Retry-After") != "1" {
			t.Errorf("overflow: code %q, Retry-After %q; want password_checks_busy and 1", p.Code, res.header.Get("Retry-After"))
		}
	}
	close(gs.release)
	wg.Wait()
	close(answers)
	for res := range answers {
		if res.status != 200 {
			t.Errorf("a queued sign-in: %d, want 200 once a slot freed", res.status)
		}
	}
	if p := gs.peak.Load(); p > slots {
		t.Errorf("%d password checks ran at once, the bound is %d", p, slots)
	}
}

// Issue 20: /v1/auth/check took the first of two Authorization headers, so
// a service behind the proxy reading the header itself could act on the
// one never checked. Both orders are 400, like on every other route.
func TestAuthCheckRefusesTwoAuthorizationHeaders(t *testing.T) {
	e := newTestEnv(t)
	e.addScope("deploy:read")
	e.addScope("deploy:write")
	e.addUser("alice", "pw")
	login := basic("alice", "pw")
	reader := e.create(login, map[string]any{"name": "r", "scopes": []string{"deploy:read"}}).Secret
	writer := e.create(login, map[string]any{"name": "w", "scopes": []string{"deploy:write"}}).Secret
	for _, order := range [][]string{{reader, writer}, {writer, reader}} {
		r := httptest.NewRequest("GET", "/v1/auth/check?scope=deploy:write", nil)
		r.Header["Authorization"] = []string{bearer(order[0]), bearer(order[1])}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		checkAgainstSpec(t, r, rec.Result())
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), api.CodeBadRequest) {
			t.Errorf("two Authorization headers: %d %s, want 400 bad_request", rec.Code, rec.Body)
		}
		if rec.Header().Get(HeaderTokenUser) != "" {
			t.Errorf("a refused check named a user: %q", rec.Header().Get(HeaderTokenUser))
		}
	}
}

// auth/check takes tokens only, so its 401 challenges Bearer only: a Basic
// challenge makes a browser behind the proxy ask for a password that can
// never work.
func TestAuthCheckChallengesBearerOnly(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	for _, auth := range []string{"", basic("alice", "pw"), "Bearer tkn_nope", "Digest x"} {
		res := e.do(req{method: "GET", path: "/v1/auth/check", auth: auth})
		if res.status != 401 {
			t.Fatalf("auth/check with %q: %d, want 401", auth, res.status)
		}
		if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="tokend"` {
			t.Errorf("auth/check with %q challenges %q, want Bearer only", auth, got)
		}
	}
	// Everywhere else both schemes are offered.
	if got := e.do(req{method: "GET", path: "/v1/user"}).header.Get("WWW-Authenticate"); !strings.Contains(got, "Basic") {
		t.Errorf("/v1/user challenges %q, want Bearer and Basic", got)
	}
}

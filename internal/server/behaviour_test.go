package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"

	"github.com/tokenctl/tokenctl/internal/api"
)

func TestRateLimitTrustsForwardedForOnlyWhenTold(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust-proxy=%v", trust), func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) { c.AuthFailures = 2; c.TrustProxy = trust })
			spoof := func(xff string) resp {
				return e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "10.0.0.1:80",
					header: map[string]string{"X-Forwarded-For": xff}})
			}
			spoof("192.0.2.10")
			spoof("192.0.2.11")
			// Without trust the proxy's address is counted, so rotating the
			// header does not help; with trust each client is counted alone.
			res := spoof("192.0.2.12")
			want := http.StatusTooManyRequests
			if trust {
				want = http.StatusUnauthorized
			}
			if res.status != want {
				t.Fatalf("third failure with a new X-Forwarded-For: %d, want %d", res.status, want)
			}
		})
	}
}

func TestFailLimiterMemoryIsBounded(t *testing.T) {
	l := newFailLimiter(3, time.Minute, 100)
	now := time.Now()
	for i := range 10_000 {
		l.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
	}
	if n := l.size(); n > 100 {
		t.Fatalf("limiter holds %d addresses, capacity 100", n)
	}
	// Expired windows are dropped first.
	later := now.Add(2 * time.Minute)
	l.fail("192.0.2.1", later)
	for i := range 200 {
		l.fail(fmt.Sprintf("172.16.0.%d", i), later)
	}
	if n := l.size(); n > 100 {
		t.Fatalf("limiter holds %d addresses after expiry, capacity 100", n)
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	e.addUser("bob", "pw")
	auth := bearer(e.login("alice", "pw"))
	body := map[string]any{"name": "ci", "expires_in_seconds": 600}
	key := map[string]string{"Idempotency-Key": "job-42-attempt"}

	first := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: body, header: key})
	second := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: body, header: key})
	if first.status != 201 || second.status != 201 {
		t.Fatalf("statuses %d, %d; want 201, 201", first.status, second.status)
	}
	if first.header.Get(ReplayedHeader) != "" || second.header.Get(ReplayedHeader) != "true" {
		t.Errorf("Idempotent-Replayed: first %q, second %q", first.header.Get(ReplayedHeader), second.header.Get(ReplayedHeader))
	}
	var a, b api.CreatedToken
	first.decode(t, &a)
	second.decode(t, &b)
	if a.ID != b.ID {
		t.Fatalf("replay made a second token: %s and %s", a.ID, b.ID)
	}
	// The caller holds a working secret: the latest one. The earlier
	// answer's secret died, since no secret is kept to send twice.
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(b.Secret)}); res.status != 200 {
		t.Errorf("replayed secret: %d, want 200", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: bearer(a.Secret)}); res.status != 401 {
		t.Errorf("first secret after replay: %d, want 401", res.status)
	}
	res := e.do(req{method: "GET", path: "/v1/tokens?name=ci", auth: auth})
	var page api.TokenPage
	res.decode(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("%d tokens named ci, want 1", len(page.Items))
	}

	// The same key with a different body is refused.
	res = e.do(req{method: "POST", path: "/v1/tokens", auth: auth, header: key,
		json: map[string]any{"name": "ci", "expires_in_seconds": 601}})
	if res.status != http.StatusUnprocessableEntity || res.problem(t).Code != api.CodeIdempotencyMismatch {
		t.Errorf("same key, different body: %d %s", res.status, res.body)
	}
	// Keys are per user: bob's identical key is his own token.
	res = e.do(req{method: "POST", path: "/v1/tokens", auth: bearer(e.login("bob", "pw")), json: body, header: key})
	var bobs api.CreatedToken
	res.decode(t, &bobs)
	if res.status != 201 || bobs.ID == a.ID || res.header.Get(ReplayedHeader) != "" {
		t.Errorf("bob with alice's key: %d replayed=%q", res.status, res.header.Get(ReplayedHeader))
	}
}

func TestConcurrentIdempotentRetriesLeaveOneToken(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "race"},
				header: map[string]string{"Idempotency-Key": "same"}})
			var ct api.CreatedToken
			res.decode(t, &ct)
			ids[i] = ct.ID
		})
	}
	wg.Wait()
	slices.Sort(ids)
	if ids[0] == "" || ids[0] != ids[len(ids)-1] {
		t.Fatalf("concurrent retries made different tokens: %v", ids)
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = 3; c.PasswordFailures = 3 })
	const pw = "hunter2-very-secret-password"
	e.addUser("alice", pw)
	var secrets []string
	login := e.create(basic("alice", pw), map[string]any{"name": "login"})
	secrets = append(secrets, login.Secret)
	auth := bearer(login.Secret)
	made := e.create(auth, map[string]any{"name": "x", "description": "desc"})
	secrets = append(secrets, made.Secret)
	e.do(req{method: "GET", path: "/v1/tokens", auth: auth})
	res := e.do(req{method: "POST", path: "/v1/tokens/" + made.ID + "/rotate", auth: auth})
	var rotated api.CreatedToken
	res.decode(t, &rotated)
	secrets = append(secrets, rotated.Secret)
	e.do(req{method: "GET", path: "/v1/user", auth: bearer(made.Secret)}) // dead secret
	e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", pw+"x")})
	e.do(req{method: "GET", path: "/v1/user", auth: "Bearer tkn_not-a-token"})
	for range 4 { // the fourth is 429
		e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "wrong-"+pw), remote: "198.51.100.1:1"})
	}
	e.do(req{method: "DELETE", path: "/v1/tokens/" + made.ID, auth: bearer(rotated.Secret)})

	logs := e.logs.String()
	if !strings.Contains(logs, "route=\"POST /v1/tokens\"") || !strings.Contains(logs, "user=alice") || !strings.Contains(logs, "status=429") {
		t.Fatalf("access log is missing fields:\n%s", logs)
	}
	forbidden := append([]string{pw, "Authorization", "Bearer ", "Basic ", "tkn_not-a-token", "hunter2"}, secrets...)
	for _, s := range secrets {
		forbidden = append(forbidden, s[len(s)-20:]) // no part of a secret either
	}
	for _, f := range forbidden {
		if strings.Contains(logs, f) {
			t.Errorf("log output contains a forbidden value (%d chars long)", len(f))
		}
	}
}

func TestPanicBecomesLogged500Problem(t *testing.T) {
	logs := &lockedBuffer{}
	s := &server{cfg: Config{}.withDefaults(), log: slog.New(slog.NewTextHandler(logs, nil))}
	h := s.withRequestID(s.withAccessLog(s.withRecover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom with tkn_SECRETVALUE")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/user", nil))
	res := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if res.status != 500 || res.problem(t).Code != api.CodeInternal {
		t.Fatalf("panic answered %d %s", res.status, res.body)
	}
	out := logs.String()
	if !strings.Contains(out, "panic recovered") || strings.Contains(out, "SECRETVALUE") {
		t.Errorf("panic log missing or leaks the panic value:\n%s", out)
	}
}

func TestRequestIDIsEchoedOrMade(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"sane id is kept", "abc-123_X.y", true},
		{"none sent", "", false},
		{"too long", strings.Repeat("a", 65), false},
		{"unsafe characters", "a\"b<script>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": tt.sent}})
			got := res.header.Get("X-Request-Id")
			if tt.keep != (got == tt.sent) || !validRequestID(got) {
				t.Errorf("X-Request-Id = %q for %q", got, tt.sent)
			}
		})
	}
}

func TestDatabaseFilesHoldNoSecret(t *testing.T) {
	e := newTestEnv(t)
	const pw = "plain-text-password-1234"
	e.addUser("alice", pw)
	var secrets []string
	auth := bearer(e.login("alice", pw))
	for i := range 20 {
		secrets = append(secrets, e.create(auth, map[string]any{"name": fmt.Sprint("t", i)}).Secret)
	}
	res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: map[string]any{"name": "idem"},
		header: map[string]string{"Idempotency-Key": "k1"}})
	var ct api.CreatedToken
	res.decode(t, &ct)
	secrets = append(secrets, ct.Secret)

	var files [][]byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(e.dbPath + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if len(files[0])+len(files[1]) == 0 {
		t.Fatal("database files are empty; nothing was checked")
	}
	for _, s := range append(secrets, pw) {
		// The random part alone, too: a secret stored without its prefix
		// or checksum is still a secret.
		needles := []string{s}
		if len(s) > 36 {
			needles = append(needles, s[len(s)-36:len(s)-6])
		}
		for i, b := range files {
			for _, n := range needles {
				if bytes.Contains(b, []byte(n)) {
					t.Errorf("%s%s holds a secret", filepath.Base(e.dbPath), []string{"", "-wal", "-shm"}[i])
				}
			}
		}
	}
}

func TestConcurrentCreates(t *testing.T) {
	workers, perWorker := 16, 500
	if testing.Short() {
		perWorker = 50
	}
	e := newTestEnv(t)
	e.validate = false // validation is covered elsewhere; this is about the store
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	results := make([][]api.CreatedToken, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth,
					json: map[string]any{"name": fmt.Sprintf("w%d-%d", w, i)}})
				if res.status != http.StatusCreated {
					t.Errorf("worker %d create %d: %d %s", w, i, res.status, res.body)
					return
				}
				var ct api.CreatedToken
				res.decode(t, &ct)
				results[w] = append(results[w], ct)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	secrets := make(map[string]bool)
	ids := make(map[string]bool)
	for _, rs := range results {
		for _, ct := range rs {
			secrets[ct.Secret] = true
			ids[ct.ID] = true
		}
	}
	want := workers * perWorker
	if len(secrets) != want || len(ids) != want {
		t.Fatalf("%d distinct secrets and %d distinct ids, want %d", len(secrets), len(ids), want)
	}
	listed := make(map[string]bool)
	cursor := ""
	for {
		path := "/v1/tokens?limit=1000&name=w*"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(req{method: "GET", path: path, auth: auth})
		var page api.TokenPage
		res.decode(t, &page)
		for _, it := range page.Items {
			listed[it.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	for id := range ids {
		if !listed[id] {
			t.Fatalf("created token %s is not listed", id)
		}
	}
	if len(listed) != want {
		t.Fatalf("listed %d tokens, want %d", len(listed), want)
	}
	if strings.Contains(e.logs.String(), "BUSY") {
		t.Error("the log mentions SQLITE_BUSY")
	}
}

// TestOpenAPIMatchesRoutes fails when the routes the server registers and
// the operations docs/openapi.yaml documents drift apart.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	b, err := os.ReadFile(specPath())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build model: %v", err)
	}
	var spec []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			spec = append(spec, strings.ToUpper(method)+" "+path)
		}
	}
	registered := Routes()
	slices.Sort(spec)
	slices.Sort(registered)
	for _, r := range registered {
		if !slices.Contains(spec, r) {
			t.Errorf("server registers %q but docs/openapi.yaml does not document it", r)
		}
	}
	for _, s := range spec {
		if !slices.Contains(registered, s) {
			t.Errorf("docs/openapi.yaml documents %q but the server does not register it", s)
		}
	}
}

// Every problem code the server can send is in the spec's enum.
func TestOpenAPIListsEveryProblemCode(t *testing.T) {
	b, err := os.ReadFile(specPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{api.CodeBadRequest, api.CodeInvalidJSON, api.CodeValidation, api.CodeUnauthorized,
		api.CodeNotFound, api.CodeMethodNotAllowed, api.CodeBodyTooLarge, api.CodeUnsupportedMedia,
		api.CodeIdempotencyMismatch, api.CodeRateLimited, api.CodeInternal, api.CodeUnavailable, api.CodePasswordChecksBusy} {
		if !bytes.Contains(b, []byte("- "+code+"\n")) {
			t.Errorf("problem code %q is missing from the Problem.code enum", code)
		}
	}
}

// A burst of concurrent wrong passwords must not buy more guesses than the
// limit: every request passes the address check before any of them has
// failed, so failures counted only afterwards would let all of them try.
func TestConcurrentPasswordGuessesStayWithinTheLimit(t *testing.T) {
	const limit, burst = 3, 24
	e := newTestEnv(t, func(c *Config) { c.PasswordFailures = limit })
	e.addUser("alice", "pw")
	statuses := make(chan int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "/v1/user", nil)
			r.SetBasicAuth("alice", fmt.Sprintf("guess-%d", i))
			r.RemoteAddr = "198.51.100.7:5555"
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			statuses <- rec.Code
		}()
	}
	wg.Wait()
	close(statuses)
	checked := 0
	for s := range statuses {
		switch s {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("a wrong password answered %d, want 401 or 429", s)
		}
	}
	if checked > limit {
		t.Errorf("%d of %d concurrent wrong passwords were checked; the limit is %d per window", checked, burst, limit)
	}
}

// A good password does not use up the address's allowance.
func TestSuccessfulLoginsDoNotCountAgainstTheLimit(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.PasswordFailures = 2; c.PasswordFailuresPerAddress = 2 })
	e.addUser("alice", "pw")
	for i := range 4 {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw")}); res.status != 200 {
			t.Fatalf("good login %d: %d, want 200", i+1, res.status)
		}
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "wrong")}); res.status != 401 {
		t.Fatalf("first wrong password after good logins: %d, want 401", res.status)
	}
}

// Replaying the key of a token that has since expired must not answer 201
// with a secret that can never work.
func TestIdempotentReplayOfAnExpiredTokenIsRefused(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	body := map[string]any{"name": "short", "expires_in_seconds": 60}
	key := map[string]string{"Idempotency-Key": "nightly"}
	if res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: body, header: key}); res.status != 201 {
		t.Fatalf("first create: %d %s", res.status, res.body)
	}
	e.clock.Advance(2 * time.Minute)
	res := e.do(req{method: "POST", path: "/v1/tokens", auth: auth, json: body, header: key})
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("replay after expiry: %d, want 422: %s", res.status, res.body)
	}
	if p := res.problem(t); p.Code != api.CodeIdempotencyMismatch || !strings.Contains(p.Detail, "expired") {
		t.Errorf("replay after expiry: code %q detail %q", p.Code, p.Detail)
	}
}

// A proxy that appends to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for)
// leaves the client's own header in front, so only the last entry, the one
// the proxy wrote, may be trusted: rotating the first must not help.
func TestTrustedProxyCountsTheAddressItAppended(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = 2; c.TrustProxy = true })
	try := func(spoofed string) resp {
		return e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "10.0.0.1:80",
			header: map[string]string{"X-Forwarded-For": spoofed + ", 192.0.2.77"}})
	}
	try("198.51.100.1")
	try("198.51.100.2")
	if res := try("198.51.100.3"); res.status != http.StatusTooManyRequests {
		t.Fatalf("third failure from one client behind the proxy: %d, want 429", res.status)
	}
	res := e.do(req{method: "GET", path: "/v1/user", remote: "10.0.0.1:80",
		header: map[string]string{"X-Forwarded-For": "192.0.2.78"}})
	if res.status != http.StatusUnauthorized {
		t.Errorf("another client behind the same proxy: %d, want 401", res.status)
	}
}

// One IPv6 host commonly holds a whole /64, so counting single addresses
// would let it take a fresh one for every guess.
func TestIPv6FailuresAreCountedPerSlash64(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = 2 })
	for i, remote := range []string{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2::2]:1000"} {
		if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: remote}); res.status != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, res.status)
		}
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "[2001:db8:1:2:ffff::9]:1000"}); res.status != http.StatusTooManyRequests {
		t.Errorf("another address in the same /64: %d, want 429", res.status)
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "[2001:db8:1:3::1]:1000"}); res.status != http.StatusUnauthorized {
		t.Errorf("an address in another /64: %d, want 401", res.status)
	}
}

// Requests refused before routing (429, 413) still log the route they
// asked for: that is what an operator greps when a login is under attack.
func TestRefusedRequestsLogTheirRoute(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = 1; c.MaxBodyBytes = 64 })
	e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "198.51.100.9:1"})
	if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "198.51.100.9:1"}); res.status != http.StatusTooManyRequests {
		t.Fatalf("second request: %d, want 429", res.status)
	}
	if res := e.do(req{method: "POST", path: "/v1/tokens/delete", body: strings.Repeat(" ", 100)}); res.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d, want 413", res.status)
	}
	logs := e.logs.String()
	for _, want := range []string{
		`route="GET /v1/user" status=429`,
		`route="POST /v1/tokens/delete" status=413`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// last_used_at is in whole seconds like created_at and expires_at, so the
// three read and compare alike.
func TestLastUsedAtIsInWholeSeconds(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	tok := e.create(basic("alice", "pw"), map[string]any{"name": "x"})
	e.clock.Advance(1500 * time.Millisecond)
	res := e.do(req{method: "GET", path: "/v1/tokens/" + tok.ID, auth: bearer(tok.Secret)})
	var got api.Token
	res.decode(t, &got)
	if got.LastUsedAt == nil {
		t.Fatalf("last_used_at not recorded: %s", res.body)
	}
	if got.LastUsedAt.Nanosecond() != 0 {
		t.Errorf("last_used_at = %s, want whole seconds", got.LastUsedAt.Format(time.RFC3339Nano))
	}
}

// Counting guesses before they are checked must not lock out an address
// whose logins are all good (an office behind one NAT): a login turned away
// only because others are still being checked is told to retry in a
// second, not to wait out the window, and nothing lingers afterwards.
func TestConcurrentGoodLoginsAreNotLockedOut(t *testing.T) {
	const limit, burst = 2, 12
	e := newTestEnv(t, func(c *Config) { c.PasswordFailures = limit; c.PasswordChecks = burst })
	e.addUser("alice", "pw")
	type answer struct {
		status     int
		retryAfter string
	}
	answers := make(chan answer, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			r := httptest.NewRequest("GET", "/v1/user", nil)
			r.SetBasicAuth("alice", "pw")
			r.RemoteAddr = "198.51.100.8:5555"
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			answers <- answer{rec.Code, rec.Header().Get("Retry-After")}
		})
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		switch {
		case a.status == http.StatusOK:
		case a.status == http.StatusTooManyRequests && a.retryAfter == "1":
		default:
			t.Errorf("good login answered %d with Retry-After %q; want 200, or 429 with Retry-After 1", a.status, a.retryAfter)
		}
	}
	if res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw"), remote: "198.51.100.8:5555"}); res.status != 200 {
		t.Errorf("good login after the burst: %d, want 200", res.status)
	}
}

// Good logins leave nothing behind in the limiter, so they cannot crowd
// out the windows of addresses that are failing.
func TestGoodLoginsLeaveTheLimiterEmpty(t *testing.T) {
	l := newFailLimiter(3, time.Minute, 100)
	now := time.Now()
	for i := range 3 {
		addr := fmt.Sprintf("203.0.113.%d", i)
		wait, w := l.reserve(addr, now)
		if wait != 0 {
			t.Fatalf("first login from %s told to wait %s", addr, wait)
		}
		l.settle(addr, w, false, now)
	}
	if n := l.size(); n != 0 {
		t.Errorf("limiter holds %d addresses after good logins only, want 0", n)
	}
}

// A prober behind the same address as a misbehaving client must still get
// the truth from /healthz and /readyz.
func TestProbesAreNeverRateLimited(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AuthFailures = 1 })
	e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "198.51.100.4:1"})
	if res := e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "198.51.100.4:1"}); res.status != http.StatusTooManyRequests {
		t.Fatalf("the address is not blocked: %d", res.status)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if res := e.do(req{method: "GET", path: p, remote: "198.51.100.4:2"}); res.status != http.StatusOK {
			t.Errorf("%s from a blocked address: %d, want 200", p, res.status)
		}
	}
}

// Some proxies write the client's port into X-Forwarded-For; the address
// must still be parsed, not fall back to the proxy's own (which would put
// every client in one failed-login budget).
func TestForwardedForWithAPortIsParsed(t *testing.T) {
	for _, tt := range []struct{ xff, other string }{
		{"1.2.3.4:5678", "1.2.3.5:5678"},
		{"[2001:db8::1]:443", "[2001:db8:0:1::1]:443"},
		{"[2001:db8::1]", "[2001:db8:0:1::1]"},
	} {
		t.Run(tt.xff, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) { c.AuthFailures = 1; c.TrustProxy = true })
			fail := func(xff string) int {
				return e.do(req{method: "GET", path: "/v1/user", auth: "Bearer nope", remote: "10.0.0.1:80",
					header: map[string]string{"X-Forwarded-For": xff}}).status
			}
			fail(tt.xff)
			if got := fail(tt.xff); got != http.StatusTooManyRequests {
				t.Errorf("second failure from %s: %d, want 429", tt.xff, got)
			}
			if got := fail(tt.other); got != http.StatusUnauthorized {
				t.Errorf("another client %s behind the proxy: %d, want 401 (its own budget)", tt.other, got)
			}
		})
	}
}

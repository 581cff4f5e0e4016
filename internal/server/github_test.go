package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// fakeGitHub stands in for GitHub: its own P-256 keys, the key list at
// /meta/public_keys/secret_scanning, and signed reports.
type fakeGitHub struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]*ecdsa.PrivateKey // published, by identifier
	fetches atomic.Int64
	down    atomic.Bool
	// hold, when set, makes the next fetch signal started and wait.
	hold, started chan struct{}
}

func newFakeGitHub(t *testing.T, ids ...string) *fakeGitHub {
	g := &fakeGitHub{t: t, keys: map[string]*ecdsa.PrivateKey{}}
	for _, id := range ids {
		g.publish(id)
	}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fetches.Add(1)
		g.mu.Lock()
		hold, started := g.hold, g.started
		g.hold, g.started = nil, nil
		g.mu.Unlock()
		if hold != nil {
			close(started)
			<-hold
		}
		if g.down.Load() || r.URL.Path != "/meta/public_keys/secret_scanning" {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		var list githubKeyList
		for id, k := range g.keys {
			der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
			if err != nil {
				t.Error(err)
			}
			list.PublicKeys = append(list.PublicKeys, struct {
				KeyIdentifier string `json:"key_identifier"`
				Key           string `json:"key"`
				IsCurrent     bool   `json:"is_current"`
			}{id, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), true})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) url() string { return g.srv.URL + "/meta/public_keys/secret_scanning" }

func (g *fakeGitHub) publish(id string) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	g.keys[id] = k
	g.mu.Unlock()
	return k
}

func (g *fakeGitHub) key(id string) *ecdsa.PrivateKey {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.keys[id]
}

func sign(t *testing.T, k *ecdsa.PrivateKey, body string) string {
	d := sha256.Sum256([]byte(body))
	sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

type ghItem struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

func reportBody(t *testing.T, items ...ghItem) string {
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// report posts body signed by key under id.
func (e *testEnv) report(id string, key *ecdsa.PrivateKey, body string) resp {
	e.t.Helper()
	h := map[string]string{}
	if key != nil {
		h[githubKeyIDHeader] = id
		h[githubSignatureHeader] = sign(e.t.(*testing.T), key, body)
	}
	return e.do(req{method: "POST", path: "/v1/secret-scanning/github", body: body, header: h})
}

func tokenHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (e *testEnv) stillLive(secret string) bool {
	e.t.Helper()
	return e.do(req{method: "GET", path: "/v1/tokens/current", auth: bearer(secret)}).status == http.StatusOK
}

// TestGitHubReportRevokesOurLiveTokens: GitHub's signed report revokes
// the live tokens in it, each with a token.revoked_leaked event naming
// the URL where it was found, and labels every item.
func TestGitHubReportRevokesOurLiveTokens(t *testing.T) {
	gh := newFakeGitHub(t, "k1")
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{gh.url()} })
	e.addUser("alice", "pw")
	auth := basic("alice", "pw")
	a := e.create(auth, map[string]any{"name": "a"})
	b := e.create(auth, map[string]any{"name": "b"})
	keep := e.create(auth, map[string]any{"name": "keep"})
	mangled := a.Secret[:len(a.Secret)-1] + "x"
	if mangled == a.Secret {
		mangled = a.Secret[:len(a.Secret)-1] + "y"
	}
	const urlA = "https://github.com/octo/repo/blob/abc/config.env"
	const urlB = "https://github.com/octo/repo/blob/abc/README.md"
	items := []ghItem{
		{a.Secret, "tokend_token", urlA, "content"},
		{mangled, "tokend_token", urlA, "content"},
		{b.Secret, "tokend_token", urlB, "commit"},
		{"ghp_notoneofours", "tokend_token", urlB, "content"},
	}
	res := e.report("k1", gh.key("k1"), reportBody(t, items...))
	if res.status != http.StatusOK {
		t.Fatalf("report: %d %s", res.status, res.body)
	}
	var labels []GitHubLabel
	res.decode(t, &labels)
	want := []string{"true_positive", "false_positive", "true_positive", "false_positive"}
	if len(labels) != len(items) {
		t.Fatalf("labels = %+v, want %d", labels, len(items))
	}
	for i, l := range labels {
		if l.Label != want[i] || l.TokenHash != tokenHash(items[i].Token) || l.TokenType != "tokend_token" {
			t.Errorf("label %d = %+v, want %s for hash %s", i, l, want[i], tokenHash(items[i].Token))
		}
	}
	if strings.Contains(string(res.body), a.Secret) {
		t.Error("the answer echoes a secret")
	}
	if e.stillLive(a.Secret) || e.stillLive(b.Secret) || !e.stillLive(keep.Secret) {
		t.Fatal("a reported token still works, or an unreported one stopped working")
	}
	evs, _ := e.events(auth, "&type="+api.EventTokenRevokedLeaked, 10)
	got := map[string]string{}
	for _, ev := range evs {
		got[ev.Token.ID] = ev.Source
		if ev.Actor.Kind != "leak_report" {
			t.Errorf("event actor = %+v, want leak_report", ev.Actor)
		}
	}
	if len(evs) != 2 || got[a.ID] != urlA || got[b.ID] != urlB {
		t.Fatalf("revoked_leaked events = %+v, want one for a at %s and one for b at %s", evs, urlA, urlB)
	}
	if gh.fetches.Load() != 1 {
		t.Errorf("key list fetched %d times, want once", gh.fetches.Load())
	}
}

// TestGitHubReportRefusesUnsignedForgedReplayedAndOversized: none of
// these revokes anything; a replay gets the first delivery's labels.
func TestGitHubReportRefusesUnsignedForgedReplayedAndOversized(t *testing.T) {
	gh := newFakeGitHub(t, "k1")
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{gh.url()} })
	e.addUser("alice", "pw")
	auth := basic("alice", "pw")
	tok := e.create(auth, map[string]any{"name": "t"})
	body := reportBody(t, ghItem{tok.Secret, "tokend_token", "https://github.com/o/r/blob/x/f", "content"})
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	for _, tc := range []struct {
		name   string
		do     func() resp
		status int
	}{
		{"unsigned", func() resp { return e.report("", nil, body) }, 401},
		{"signed by another key under GitHub's identifier", func() resp { return e.report("k1", attacker, body) }, 401},
		{"unknown identifier", func() resp { return e.report("nope", attacker, body) }, 401},
		{"signature of another body", func() resp {
			return e.do(req{method: "POST", path: "/v1/secret-scanning/github", body: body, header: map[string]string{
				githubKeyIDHeader: "k1", githubSignatureHeader: sign(t, gh.key("k1"), body+" ")}})
		}, 401},
		{"signature not base64", func() resp {
			return e.do(req{method: "POST", path: "/v1/secret-scanning/github", body: body, header: map[string]string{
				githubKeyIDHeader: "k1", githubSignatureHeader: "!!!"}})
		}, 401},
		{"oversized", func() resp {
			big := `[{"token":"` + strings.Repeat("a", GitHubMaxReportBytes) + `"}]`
			return e.report("k1", gh.key("k1"), big)
		}, 413},
	} {
		res := tc.do()
		if res.status != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, res.status, res.body, tc.status)
		}
		res.problem(t)
		if !e.stillLive(tok.Secret) {
			t.Fatalf("%s revoked the token", tc.name)
		}
	}

	// The real report, then the same delivery again.
	h := map[string]string{githubKeyIDHeader: "k1", githubSignatureHeader: sign(t, gh.key("k1"), body)}
	var first, second []GitHubLabel
	e.do(req{method: "POST", path: "/v1/secret-scanning/github", body: body, header: h}).decode(t, &first)
	res := e.do(req{method: "POST", path: "/v1/secret-scanning/github", body: body, header: h})
	if res.status != http.StatusOK {
		t.Fatalf("replay: %d %s", res.status, res.body)
	}
	res.decode(t, &second)
	if len(first) != 1 || first[0].Label != "true_positive" || len(second) != 1 || second[0] != first[0] {
		t.Fatalf("first delivery %+v, replay %+v: want the same true_positive label", first, second)
	}
	if e.stillLive(tok.Secret) {
		t.Fatal("the signed report did not revoke the token")
	}
	if evs, _ := e.events(auth, "&type="+api.EventTokenRevokedLeaked, 10); len(evs) != 1 {
		t.Fatalf("revoked_leaked events = %+v, want exactly one", evs)
	}
}

// TestGitHubKeysRefetchAtMostOnceAMinute: an unknown identifier fetches
// the list again, but not more than once a minute.
func TestGitHubKeysRefetchAtMostOnceAMinute(t *testing.T) {
	gh := newFakeGitHub(t, "k1")
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{gh.url()} })
	body := reportBody(t, ghItem{"tkn_nothing", "tokend_token", "https://github.com/o/r", "content"})
	if res := e.report("k1", gh.key("k1"), body); res.status != 200 {
		t.Fatalf("report: %d %s", res.status, res.body)
	}
	k2 := gh.publish("k2") // GitHub rotates
	if res := e.report("k2", k2, body); res.status != 401 {
		t.Fatalf("k2 within the minute: %d %s, want 401", res.status, res.body)
	}
	if res := e.report("forged", k2, body); res.status != 401 || gh.fetches.Load() != 1 {
		t.Fatalf("forged id: %d, fetches %d; want 401 and still one fetch", res.status, gh.fetches.Load())
	}
	e.clock.Advance(GitHubKeyRefetch)
	if res := e.report("k2", k2, body); res.status != 200 || gh.fetches.Load() != 2 {
		t.Fatalf("k2 after a minute: %d %s, fetches %d; want 200 after a second fetch", res.status, res.body, gh.fetches.Load())
	}
	if res := e.report("k1", gh.key("k1"), body); res.status != 200 || gh.fetches.Load() != 2 {
		t.Fatalf("k1 still verifies from the cache: %d, fetches %d", res.status, gh.fetches.Load())
	}
}

// TestGitHubReportOffOrKeysUnreachable: without --github-keys-url the route
// is 404; when the key list cannot be fetched it is 503, not a 500.
func TestGitHubReportOffOrKeysUnreachable(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body := reportBody(t, ghItem{"tkn_x", "tokend_token", "https://github.com/o/r", "content"})
	off := newTestEnv(t)
	if res := off.report("k1", k, body); res.status != 404 || !strings.Contains(res.problem(t).Detail, "--github-keys-url") {
		t.Fatalf("disabled: %d %s", res.status, res.body)
	}
	gh := newFakeGitHub(t, "k1")
	gh.down.Store(true)
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{gh.url()} })
	res := e.report("k1", gh.key("k1"), body)
	if res.status != 503 || res.header.Get("Retry-After") == "" {
		t.Fatalf("keys unreachable: %d %s", res.status, res.body)
	}
	res.problem(t)
	gh.down.Store(false)
	e.clock.Advance(time.Minute)
	if res := e.report("k1", gh.key("k1"), body); res.status != 200 {
		t.Fatalf("keys back: %d %s", res.status, res.body)
	}
}

// TestGitHubForgedReportsCountAsFailedAuthentication: a forger meets 429
// after the address's budget, like a token guesser; GitHub, elsewhere, not.
func TestGitHubForgedReportsCountAsFailedAuthentication(t *testing.T) {
	gh := newFakeGitHub(t, "k1")
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{gh.url()} })
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body := reportBody(t, ghItem{"tkn_x", "tokend_token", "https://github.com/o/r", "content"})
	forged := func() resp {
		return e.do(req{method: "POST", path: "/v1/secret-scanning/github", body: body, remote: "203.0.113.9:1",
			header: map[string]string{githubKeyIDHeader: "k1", githubSignatureHeader: sign(t, attacker, body)}})
	}
	for i := range DefaultAuthFailures {
		if res := forged(); res.status != 401 {
			t.Fatalf("forgery %d: %d %s", i+1, res.status, res.body)
		}
	}
	if res := forged(); res.status != 429 || res.header.Get("Retry-After") == "" {
		t.Fatalf("forgery past the budget: %d %s, want 429", res.status, res.body)
	}
	if res := e.report("k1", gh.key("k1"), body); res.status != 200 {
		t.Fatalf("GitHub from its own address: %d %s", res.status, res.body)
	}
}

// TestGitHubKnownKeyDoesNotWaitForAFetch: while an unknown identifier has
// tokend fetching the key list from a slow GitHub, a report signed with a
// known key is answered at once.
func TestGitHubKnownKeyDoesNotWaitForAFetch(t *testing.T) {
	gh := newFakeGitHub(t, "k1")
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{gh.url()} })
	body := reportBody(t, ghItem{"tkn_x", "tokend_token", "https://github.com/o/r", "content"})
	if res := e.report("k1", gh.key("k1"), body); res.status != 200 {
		t.Fatalf("first report: %d %s", res.status, res.body)
	}
	e.clock.Advance(GitHubKeyRefetch)
	k2 := gh.publish("k2")
	hold, started := make(chan struct{}), make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(hold) }) }) // before the server closes
	gh.mu.Lock()
	gh.hold, gh.started = hold, started
	gh.mu.Unlock()
	done := make(chan int)
	go func() {
		r := httptest.NewRequest("POST", "/v1/secret-scanning/github", strings.NewReader(body))
		r.Header.Set(githubKeyIDHeader, "k2")
		r.Header.Set(githubSignatureHeader, sign(t, k2, body))
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		done <- w.Code
	}()
	<-started // the k2 report is fetching, and the fetch hangs
	if res := e.report("k1", gh.key("k1"), body); res.status != 200 {
		t.Fatalf("known key during a fetch: %d %s", res.status, res.body)
	}
	select {
	case code := <-done:
		t.Fatalf("the k1 report waited for the fetch to end (k2 answered %d first)", code)
	default:
	}
	release.Do(func() { close(hold) })
	if code := <-done; code != 200 {
		t.Fatalf("k2 after the fetch: %d", code)
	}
}

// TestGitHubAndEnterpriseServerKeys: with github.com's and a GitHub
// Enterprise Server's key lists, reports signed by either verify, and one
// list being down does not stop the other's reports.
func TestGitHubAndEnterpriseServerKeys(t *testing.T) {
	dotcom, ghes := newFakeGitHub(t, "dotcom1"), newFakeGitHub(t, "ghes1")
	ghes.down.Store(true)
	e := newTestEnv(t, func(c *Config) { c.GitHubKeysURLs = []string{dotcom.url(), ghes.url()} })
	body := reportBody(t, ghItem{"tkn_x", "tokend_token", "https://ghes.example/o/r", "content"})
	if res := e.report("dotcom1", dotcom.key("dotcom1"), body); res.status != 200 {
		t.Fatalf("github.com report while the GHES list is down: %d %s", res.status, res.body)
	}
	if res := e.report("ghes1", ghes.key("ghes1"), body); res.status != 401 {
		t.Fatalf("GHES report before its list was read: %d %s", res.status, res.body)
	}
	ghes.down.Store(false)
	dotcom.down.Store(true)
	e.clock.Advance(GitHubKeyRefetch)
	if res := e.report("ghes1", ghes.key("ghes1"), body); res.status != 200 {
		t.Fatalf("GHES report once its list is up: %d %s", res.status, res.body)
	}
	if res := e.report("dotcom1", dotcom.key("dotcom1"), body); res.status != 200 {
		t.Fatalf("github.com's cached key was forgotten while its list is down: %d %s", res.status, res.body)
	}
}

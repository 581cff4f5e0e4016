package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/oidctest"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/storetest"
)

// exchangeEnv is a tokend over a real SQLite file trusting a real test
// issuer over HTTP: policy "gha-main" lets acme/app's main branch have a
// deploy:write token of deploy-bot for at most 15 minutes.
type exchangeEnv struct {
	*testEnv
	iss  *oidctest.Issuer
	user store.User
}

const testAudience = "tokend.test"

func newExchangeEnv(t testing.TB, mutate ...func(*Config)) *exchangeEnv {
	t.Helper()
	e := newTestEnv(t, append([]func(*Config){func(c *Config) {
		c.Verifier = oidcverify.New(oidcverify.Options{Now: c.Now, FetchTimeout: 2 * time.Second})
	}}, mutate...)...)
	iss := oidctest.NewIssuer(t)
	e.addScope("deploy:write")
	e.addScope("deploy:read")
	u := e.addUser("deploy-bot", "pw")
	ee := &exchangeEnv{testEnv: e, iss: iss, user: u}
	ee.addPolicy(store.TrustPolicy{Name: "gha-main", Issuer: iss.URL(), Audience: testAudience,
		Claims:      []store.ClaimMatch{{Claim: "ref", Glob: "refs/heads/main"}, {Claim: "repository", Glob: "acme/*"}},
		UserID:      u.ID,
		Scopes:      []string{"deploy:read", "deploy:write"},
		MaxLifetime: 15 * time.Minute})
	return ee
}

func (e *exchangeEnv) addPolicy(p store.TrustPolicy) {
	e.t.Helper()
	p.CreatedAt = e.clock.Now()
	if err := e.st.CreateTrustPolicy(context.Background(), p); err != nil {
		e.t.Fatalf("add trust policy: %v", err)
	}
}

// claims are a GitHub Actions job's on acme/app's main branch, for tokend.
func ghClaims(repo, ref string) map[string]any {
	c := oidctest.GitHubClaims(repo, ref, "4242")
	c["aud"] = testAudience
	return c
}

func (e *exchangeEnv) exchange(body map[string]any) resp {
	e.t.Helper()
	if _, ok := body["subject_token_type"]; !ok {
		body["subject_token_type"] = api.TokenTypeIDToken
	}
	return e.do(req{method: "POST", path: "/v1/tokens/exchange", json: body})
}

// liveTokens counts deploy-bot's tokens, so a refusal can be shown to
// have minted nothing.
func (e *exchangeEnv) liveTokens() int {
	e.t.Helper()
	toks, err := storetest.List(context.Background(), e.st, store.ListOptions{UserID: e.user.ID, Limit: 100, Now: e.clock.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(toks)
}

func TestExchangeMintsAScopedTokenThatTheAuditTrailNames(t *testing.T) {
	e := newExchangeEnv(t)
	jwt := e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"))
	res := e.exchange(map[string]any{"subject_token": jwt, "grant_type": api.GrantTypeTokenExchange, "scope": "deploy:write"})
	if res.status != http.StatusCreated {
		t.Fatalf("exchange: %d %s", res.status, res.body)
	}
	var et api.ExchangedToken
	res.decode(t, &et)
	if et.Name != "gha:acme/app@refs/heads/main#run-4242" || !slices.Equal(et.Scopes, []string{"deploy:write"}) ||
		et.User.Username != "deploy-bot" || et.TrustPolicy != "gha-main" || et.AccessToken != et.Secret ||
		et.TokenType != "Bearer" || et.IssuedTokenType != api.TokenTypeAccessToken || et.ExpiresIn != 900 ||
		et.Scope != "deploy:write" || !et.ExpiresAt.Equal(et.CreatedAt.Add(15*time.Minute)) {
		t.Fatalf("exchanged token: %+v", et.Token)
	}
	if got := res.header.Get("Location"); got != "/v1/tokens/"+et.ID {
		t.Fatalf("Location = %q", got)
	}
	if strings.Contains(e.logs.String(), jwt) || strings.Contains(e.logs.String(), et.Secret) {
		t.Fatal("the identity token or the secret reached the log")
	}

	check := e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:write", auth: bearer(et.Secret)})
	if check.status != http.StatusNoContent {
		t.Fatalf("auth/check with the exchanged token: %d %s", check.status, check.body)
	}
	if check = e.do(req{method: "GET", path: "/v1/auth/check?scope=deploy:read", auth: bearer(et.Secret)}); check.status != http.StatusForbidden {
		t.Fatalf("the token has a scope it did not ask for: %d", check.status)
	}

	// The audit trail (read with the password) names policy and claims.
	evs, _ := e.events(basic("deploy-bot", "pw"), "", 10)
	if len(evs) != 1 {
		t.Fatalf("events: %+v", evs)
	}
	ev := evs[0]
	if ev.Type != api.EventTokenExchanged || ev.Token == nil || ev.Token.ID != et.ID || ev.Actor.Kind != api.ActorOIDC ||
		ev.Actor.TrustPolicy != "gha-main" || ev.Actor.Claims["repository"] != "acme/app" ||
		ev.Actor.Claims["ref"] != "refs/heads/main" || ev.Actor.Claims["run_id"] != "4242" ||
		ev.Actor.Claims["iss"] != e.iss.URL() || ev.Actor.Claims["sub"] != "repo:acme/app:ref:refs/heads/main" ||
		ev.Actor.Claims["jti"] == "" {
		t.Fatalf("exchange event: %+v", ev)
	}

	// The token ends itself without tokens:write.
	if del := e.do(req{method: "DELETE", path: "/v1/tokens/current", auth: bearer(et.Secret)}); del.status != http.StatusNoContent {
		t.Fatalf("self-delete: %d %s", del.status, del.body)
	}
	if e.liveTokens() != 0 {
		t.Fatal("the token outlived its self-delete")
	}
}

func TestExchangeDefaultsToThePolicysScopesAndLifetime(t *testing.T) {
	e := newExchangeEnv(t)
	res := e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"), oidctest.WithKey("ec"))})
	var et api.ExchangedToken
	res.decode(t, &et)
	if res.status != 201 || !slices.Equal(et.Scopes, []string{"deploy:read", "deploy:write"}) || et.ExpiresIn != 900 {
		t.Fatalf("exchange with defaults: %d %s", res.status, res.body)
	}
	res = e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main")),
		"subject_token_type": api.TokenTypeJWT, "expires_in_seconds": 120, "name": "deploy #7"})
	res.decode(t, &et)
	if res.status != 201 || et.Name != "deploy #7" || et.ExpiresIn != 120 {
		t.Fatalf("exchange with a name and lifetime: %d %s", res.status, res.body)
	}
}

// Every hostile case is refused with the reason an operator needs, and
// nothing is minted.
func TestExchangeRefusals(t *testing.T) {
	// Refusals count against the address's failure budget (its own test
	// below); this one sends more than the default allows.
	e := newExchangeEnv(t, func(c *Config) { c.AuthFailures = 1000 })
	other := oidctest.NewIssuer(t)
	good := ghClaims("acme/app", "refs/heads/main")
	with := func(k string, v any) map[string]any {
		c := ghClaims("acme/app", "refs/heads/main")
		c[k] = v
		return c
	}
	now := time.Now()
	replayed := e.iss.Mint(t, good)
	if res := e.exchange(map[string]any{"subject_token": replayed}); res.status != 201 {
		t.Fatalf("first use: %d %s", res.status, res.body)
	}
	before := e.liveTokens()

	// A policy whose user lacks a scope it grants (deleted after the
	// policy was written, or written straight into the database).
	e.addPolicy(store.TrustPolicy{Name: "gha-release", Issuer: e.iss.URL(), Audience: testAudience,
		Claims: []store.ClaimMatch{{Claim: "ref", Glob: "refs/tags/*"}}, UserID: e.user.ID,
		Scopes: []string{"release:publish"}, MaxLifetime: 15 * time.Minute})

	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		reason string
	}{
		{"wrong audience", map[string]any{"subject_token": e.iss.Mint(t, with("aud", "someone-else"))}, 401, api.CodeSubjectTokenRejected, api.ReasonWrongAudience},
		{"untrusted issuer", map[string]any{"subject_token": other.Mint(t, good)}, 401, api.CodeSubjectTokenRejected, api.ReasonUntrustedIssuer},
		{"trusted iss, another issuer's key", map[string]any{"subject_token": other.Mint(t, with("iss", e.iss.URL()))}, 401, api.CodeSubjectTokenRejected, api.ReasonBadSignature + "|" + api.ReasonUnknownKey},
		{"expired", map[string]any{"subject_token": e.iss.Mint(t, good, oidctest.WithTime(now.Add(-time.Hour)))}, 401, api.CodeSubjectTokenRejected, api.ReasonExpired},
		{"not yet valid", map[string]any{"subject_token": e.iss.Mint(t, with("nbf", now.Add(time.Hour).Unix()))}, 401, api.CodeSubjectTokenRejected, api.ReasonNotYetValid},
		{"issued in the future", map[string]any{"subject_token": e.iss.Mint(t, good, oidctest.WithTime(now.Add(time.Hour)))}, 401, api.CodeSubjectTokenRejected, ""},
		{"unknown kid", map[string]any{"subject_token": e.iss.MintWithUnknownKid(t, good)}, 401, api.CodeSubjectTokenRejected, api.ReasonUnknownKey},
		{"alg none", map[string]any{"subject_token": e.iss.MintNone(t, good)}, 401, api.CodeSubjectTokenRejected, api.ReasonUnsupportedAlgorithm},
		{"HS256 keyed with the public key", map[string]any{"subject_token": e.iss.MintHS256WithPublicKey(t, good, true)}, 401, api.CodeSubjectTokenRejected, api.ReasonUnsupportedAlgorithm},
		{"tampered claims", map[string]any{"subject_token": oidctest.Tamper(t, e.iss.Mint(t, with("repository", "evil/app")), map[string]any{"repository": "acme/app"})}, 401, api.CodeSubjectTokenRejected, api.ReasonBadSignature},
		{"replayed", map[string]any{"subject_token": replayed}, 401, api.CodeSubjectTokenRejected, api.ReasonReplayed},
		{"oversized", map[string]any{"subject_token": e.iss.Mint(t, with("padding", strings.Repeat("x", api.MaxSubjectTokenLen)))}, 401, api.CodeSubjectTokenRejected, api.ReasonTooLarge},
		{"not a JWT", map[string]any{"subject_token": "hello"}, 401, api.CodeSubjectTokenRejected, api.ReasonMalformed},
		{"no policy matches the repository", map[string]any{"subject_token": e.iss.Mint(t, ghClaims("evil/app", "refs/heads/main"))}, 403, api.CodeNoMatchingPolicy, ""},
		{"no policy matches the branch", map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/feature"))}, 403, api.CodeNoMatchingPolicy, ""},
		{"more scope than the policy", map[string]any{"subject_token": e.iss.Mint(t, good), "scope": "deploy:write tokens:write"}, 403, api.CodeExceedsPolicy, ""},
		{"longer than the policy", map[string]any{"subject_token": e.iss.Mint(t, good), "expires_in_seconds": 3600}, 403, api.CodeExceedsPolicy, ""},
		{"policy grants more than its user has", map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/tags/v1"))}, 403, api.CodeExceedsPolicy, ""},
		{"wrong token type", map[string]any{"subject_token": e.iss.Mint(t, good), "subject_token_type": api.TokenTypeAccessToken}, 400, api.CodeValidation, ""},
		{"wrong grant type", map[string]any{"subject_token": e.iss.Mint(t, good), "grant_type": "password"}, 400, api.CodeValidation, ""},
		{"no subject token", map[string]any{}, 400, api.CodeValidation, ""},
	}
	for _, tc := range cases {
		res := e.exchange(tc.body)
		p := res.problem(t)
		if res.status != tc.status || p.Code != tc.code || (tc.reason != "" && !slices.Contains(strings.Split(tc.reason, "|"), p.Reason)) {
			t.Errorf("%s: %d %s %q, want %d %s %q: %s", tc.name, res.status, p.Code, p.Reason, tc.status, tc.code, tc.reason, p.Detail)
			continue
		}
		if tok, _ := tc.body["subject_token"].(string); tok != "" && len(tok) > 20 && strings.Contains(string(res.body), tok) {
			t.Errorf("%s: the answer echoes the identity token", tc.name)
		}
		if tc.status == 401 && !strings.Contains(res.header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s: WWW-Authenticate = %q", tc.name, res.header.Get("WWW-Authenticate"))
		}
		if tc.code == api.CodeNoMatchingPolicy && (strings.Contains(p.Detail, "acme/*") || strings.Contains(p.Detail, "gha-main")) {
			t.Errorf("%s: the refusal tells the policy's claims: %s", tc.name, p.Detail)
		}
	}
	if n := e.liveTokens(); n != before {
		t.Fatalf("refusals minted %d tokens", n-before)
	}
	// The operator learns which claim missed.
	if !strings.Contains(e.logs.String(), "gha-main: repository") {
		t.Errorf("the log does not say which claim missed:\n%s", e.logs.String())
	}
}

// Refused identities spend the address's failed-authentication budget
// like wrong tokens do; past it a refusal is 429 instead, while a valid
// exchange from the same address still mints: a CI runner sharing its
// egress address with a broken pipeline is not refused for that one's
// failures.
func TestExchangeRefusalsAreRateLimited(t *testing.T) {
	e := newExchangeEnv(t, func(c *Config) { c.AuthFailures = 3 })
	for i := range 3 {
		if res := e.exchange(map[string]any{"subject_token": e.iss.MintNone(t, ghClaims("acme/app", "refs/heads/main"))}); res.status != 401 {
			t.Fatalf("refusal %d: %d", i, res.status)
		}
	}
	res := e.exchange(map[string]any{"subject_token": e.iss.MintNone(t, ghClaims("acme/app", "refs/heads/main"))})
	if p := res.problem(t); res.status != 429 || p.Code != api.CodeRateLimited || res.header.Get("Retry-After") == "" {
		t.Fatalf("a refusal after the budget: %d %+v", res.status, p)
	}
	res = e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/other", "refs/heads/dev"))})
	if p := res.problem(t); res.status != 429 || p.Code != api.CodeRateLimited {
		t.Fatalf("a policy miss after the budget: %d %+v", res.status, p)
	}
	if e.liveTokens() != 0 {
		t.Fatal("minted for a refused identity")
	}
	res = e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"))})
	if res.status != 201 {
		t.Fatalf("a valid exchange from the address past its budget: %d %s, want 201", res.status, res.body)
	}
}

// An issuer whose keys cannot be had costs a bounded wait and a clear
// reason, and mints nothing.
func TestExchangeWithAnIssuerThatHangsOrSendsGarbage(t *testing.T) {
	for _, mode := range []oidctest.Mode{oidctest.Hang, oidctest.Garbage, oidctest.ServerError} {
		e := newExchangeEnv(t)
		e.iss.SetJWKSMode(mode)
		start := time.Now()
		res := e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"))})
		took := time.Since(start)
		p := res.problem(t)
		if res.status != 401 || p.Reason != api.ReasonIssuerUnavailable {
			t.Fatalf("mode %d: %d %+v", mode, res.status, p)
		}
		if took > 30*time.Second { // generous: the bound is FetchTimeout (2s here)
			t.Fatalf("mode %d: took %s", mode, took)
		}
		if e.liveTokens() != 0 {
			t.Fatalf("mode %d: minted a token", mode)
		}
	}
}

// Keys rotate: a token signed with a new key verifies after one refetch.
func TestExchangeFollowsKeyRotation(t *testing.T) {
	e := newExchangeEnv(t)
	if res := e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"))}); res.status != 201 {
		t.Fatalf("before rotation: %d %s", res.status, res.body)
	}
	fetches := e.iss.JWKSFetches()
	e.iss.RotateKeys()
	e.clock.Advance(2 * time.Minute) // past the once-a-minute refetch bound
	res := e.exchange(map[string]any{"subject_token": e.iss.Mint(t, ghClaims("acme/app", "refs/heads/main"))})
	if res.status != 201 {
		t.Fatalf("after rotation: %d %s", res.status, res.body)
	}
	if got := e.iss.JWKSFetches(); got != fetches+1 {
		t.Fatalf("JWKS fetches %d -> %d, want one refetch", fetches, got)
	}
}

// Cached keys: the exchange costs one signature check, one policy read and
// the create's transaction.
func BenchmarkExchange(b *testing.B) {
	for _, key := range []string{"rsa", "ec"} {
		b.Run(key, func(b *testing.B) {
			e := newExchangeEnv(b, func(c *Config) { c.MaxTokensPerUser = 1 << 30 })
			jwts := make([]string, b.N+1)
			for i := range jwts {
				jwts[i] = e.iss.Mint(b, ghClaims("acme/app", "refs/heads/main"), oidctest.WithKey(key))
			}
			if res := e.exchange(map[string]any{"subject_token": jwts[b.N]}); res.status != 201 { // warm the key cache
				b.Fatalf("warm-up: %d %s", res.status, res.body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := e.exchange(map[string]any{"subject_token": jwts[i]}); res.status != 201 {
					b.Fatalf("exchange: %d %s", res.status, res.body)
				}
			}
		})
	}
}

// The claim rules docs/api.md promises: '*' crosses '/' and ':', '?' is
// one character, arrays match by any element, numbers and booleans by
// their JSON text, objects and null never.
func TestClaimMatches(t *testing.T) {
	cases := []struct {
		v    any
		glob string
		want bool
	}{
		{"repo:acme/app:ref:refs/heads/main", "repo:acme/*", true},
		{"refs/heads/main", "refs/heads/ma?n", true},
		{"refs/heads/main", "refs/heads/m", false},
		{"acme/app", "ACME/*", false},
		{"", "*", true},
		{json.Number("4242"), "42*", true},
		{true, "true", true},
		{false, "true", false},
		{[]any{"a", "tokend.test"}, "tokend.*", true},
		{[]any{"a", json.Number("7")}, "7", true},
		{map[string]any{"x": "y"}, "*", false},
		{nil, "*", false},
		{"ünïcode", "?n?code", true},
	}
	for _, c := range cases {
		if got := claimMatches(c.v, c.glob); got != c.want {
			t.Errorf("claimMatches(%#v, %q) = %v, want %v", c.v, c.glob, got, c.want)
		}
	}
}

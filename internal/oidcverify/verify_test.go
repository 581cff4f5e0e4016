package oidcverify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/oidctest"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
)

const aud = "https://tokend.example.com"

// clock is a settable clock for the verifier, so the once-a-minute rule is
// tested without sleeping. It starts at the real time: the issuer mints
// with the real clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	iss *oidctest.Issuer
	v   *oidcverify.Verifier
	clk *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := &clock{t: time.Now()}
	return &fixture{
		iss: oidctest.NewIssuer(t),
		clk: clk,
		v: oidcverify.New(oidcverify.Options{
			FetchTimeout: 300 * time.Millisecond,
			Now:          clk.Now,
		}),
	}
}

func (f *fixture) verify(raw string) (*oidcverify.Identity, error) {
	return f.v.Verify(context.Background(), raw, f.iss.URL(), []string{"other-audience", aud})
}

func ghClaims() map[string]any {
	c := oidctest.GitHubClaims("octo-org/octo-repo", "refs/heads/main", "123")
	c["aud"] = aud
	return c
}

// wantReason fails unless err is an *oidcverify.Error with reason.
func wantReason(t *testing.T, err error, reason string) *oidcverify.Error {
	t.Helper()
	var e *oidcverify.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *oidcverify.Error with reason %s", err, reason)
	}
	if e.Reason != reason {
		t.Fatalf("reason = %s (%s), want %s", e.Reason, e.Detail, reason)
	}
	if strings.Contains(e.Detail, "\n") {
		t.Errorf("detail spans lines: %q", e.Detail)
	}
	return e
}

func (f *fixture) wantFetches(t *testing.T, discovery, jwks int) {
	t.Helper()
	if d, j := f.iss.DiscoveryFetches(), f.iss.JWKSFetches(); d != discovery || j != jwks {
		t.Fatalf("fetches: discovery %d, JWKS %d; want %d and %d", d, j, discovery, jwks)
	}
}

func TestVerifyAcceptsGoodTokens(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tests := []struct {
		name string
		opts []oidctest.MintOption
	}{
		{"RS256 with the RSA key", nil},
		{"ES256 with the EC key", []oidctest.MintOption{oidctest.WithKey("ec")}},
		{"no kid: the key of the matching type is found", []oidctest.MintOption{oidctest.WithKey("ec"), oidctest.WithoutKid()}},
		{"no iat and no nbf (both optional)", []oidctest.MintOption{oidctest.WithoutClaims("iat", "nbf")}},
		{"expired 30s ago, within the clock skew", []oidctest.MintOption{oidctest.WithTime(now.Add(-10*time.Minute - 30*time.Second))}},
		{"issued 30s in the future, within the clock skew", []oidctest.MintOption{oidctest.WithTime(now.Add(30 * time.Second))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := f.iss.Mint(t, ghClaims(), tt.opts...)
			id, err := f.verify(raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.Issuer != f.iss.URL() || id.Subject != "repo:octo-org/octo-repo:ref:refs/heads/main" {
				t.Errorf("iss, sub = %q, %q", id.Issuer, id.Subject)
			}
			if len(id.ID) != 32 || id.Claims["jti"] != id.ID {
				t.Errorf("jti = %q (claims: %v)", id.ID, id.Claims["jti"])
			}
			if len(id.Audience) != 1 || id.Audience[0] != aud {
				t.Errorf("aud = %q", id.Audience)
			}
			if id.Expiry.IsZero() || id.Claims["repository"] != "octo-org/octo-repo" || id.Claims["run_id"] != "123" {
				t.Errorf("identity = %+v", id)
			}
			if _, ok := id.Claims["exp"].(json.Number); !ok {
				t.Errorf("exp claim is %T, want json.Number", id.Claims["exp"])
			}
		})
	}
	// All of them cost one discovery and one key fetch.
	f.wantFetches(t, 1, 1)
}

func TestVerifyIdentityTimes(t *testing.T) {
	f := newFixture(t)
	at := time.Unix(time.Now().Unix(), 0)
	id, err := f.verify(f.iss.Mint(t, ghClaims(), oidctest.WithTime(at), oidctest.WithLifetime(5*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if !id.IssuedAt.Equal(at) || !id.NotBefore.Equal(at) || !id.Expiry.Equal(at.Add(5*time.Minute)) {
		t.Errorf("iat %v nbf %v exp %v, want %v, %v, +5m", id.IssuedAt, id.NotBefore, id.Expiry, at, at)
	}
	id, err = f.verify(f.iss.Mint(t, ghClaims(), oidctest.WithoutClaims("iat", "nbf", "jti")))
	if err != nil {
		t.Fatal(err)
	}
	if !id.IssuedAt.IsZero() || !id.NotBefore.IsZero() || id.ID != "" {
		t.Errorf("absent iat/nbf/jti: %v %v %q", id.IssuedAt, id.NotBefore, id.ID)
	}
}

func TestVerifyRejectsHostileTokens(t *testing.T) {
	f := newFixture(t)
	other := oidctest.NewIssuer(t)
	now := time.Now()
	_, ecKID := f.iss.KeyIDs()
	set := func(k string, v any) map[string]any { return with(ghClaims(), k, v) }
	tests := []struct {
		name   string
		raw    func(t *testing.T) string
		reason string
	}{
		{"wrong audience", func(t *testing.T) string {
			return f.iss.Mint(t, set("aud", "https://someone-else.example.com"))
		}, api.ReasonWrongAudience},
		{"no audience", func(t *testing.T) string {
			c := ghClaims()
			delete(c, "aud")
			return f.iss.Mint(t, c)
		}, api.ReasonWrongAudience},
		{"iss names another issuer", func(t *testing.T) string {
			return f.iss.Mint(t, set("iss", "https://token.actions.githubusercontent.com"))
		}, api.ReasonUntrustedIssuer},
		{"signed by another issuer", func(t *testing.T) string { return other.Mint(t, ghClaims()) }, api.ReasonUntrustedIssuer},
		{"another issuer's token claiming our iss", func(t *testing.T) string {
			return other.Mint(t, set("iss", f.iss.URL()))
		}, api.ReasonBadSignature},
		{"expired", func(t *testing.T) string {
			return f.iss.Mint(t, ghClaims(), oidctest.WithTime(now.Add(-20*time.Minute)))
		}, api.ReasonExpired},
		{"not yet valid", func(t *testing.T) string {
			return f.iss.Mint(t, set("nbf", now.Add(5*time.Minute).Unix()))
		}, api.ReasonNotYetValid},
		{"issued in the future", func(t *testing.T) string {
			return f.iss.Mint(t, set("iat", now.Add(5*time.Minute).Unix()))
		}, api.ReasonIssuedInFuture},
		{"no exp", func(t *testing.T) string {
			return f.iss.Mint(t, ghClaims(), oidctest.WithoutClaims("exp"))
		}, api.ReasonMalformed},
		{"exp is not a number", func(t *testing.T) string { return f.iss.Mint(t, set("exp", "tomorrow")) }, api.ReasonMalformed},
		{"alg none", func(t *testing.T) string { return f.iss.MintNone(t, ghClaims()) }, api.ReasonUnsupportedAlgorithm},
		{"HS256 keyed with the public key's DER", func(t *testing.T) string {
			return f.iss.MintHS256WithPublicKey(t, ghClaims(), false)
		}, api.ReasonUnsupportedAlgorithm},
		{"HS256 keyed with the public key's PEM", func(t *testing.T) string {
			return f.iss.MintHS256WithPublicKey(t, ghClaims(), true)
		}, api.ReasonUnsupportedAlgorithm},
		{"tampered payload", func(t *testing.T) string {
			return oidctest.Tamper(t, f.iss.Mint(t, ghClaims()), map[string]any{"sub": "repo:attacker/repo:ref:refs/heads/main"})
		}, api.ReasonBadSignature},
		{"RS256 naming the EC key's kid", func(t *testing.T) string {
			return f.iss.Mint(t, ghClaims(), oidctest.WithHeader("kid", ecKID))
		}, api.ReasonBadSignature},
		{"PS256 with a key published for RS256", func(t *testing.T) string {
			return f.iss.Mint(t, ghClaims(), oidctest.WithAlgorithm("PS256"))
		}, api.ReasonBadSignature},
		{"unknown kid", func(t *testing.T) string { return f.iss.MintWithUnknownKid(t, ghClaims()) }, api.ReasonUnknownKey},
		{"oversized", func(t *testing.T) string {
			return f.iss.Mint(t, set("padding", strings.Repeat("A", api.MaxSubjectTokenLen)))
		}, api.ReasonTooLarge},
		{"empty", func(*testing.T) string { return "" }, api.ReasonMalformed},
		{"not a JWT", func(*testing.T) string { return "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }, api.ReasonMalformed},
		{"three empty parts", func(*testing.T) string { return ".." }, api.ReasonMalformed},
		{"bad base64", func(*testing.T) string { return "e30.%%%.e30" }, api.ReasonMalformed},
		{"payload not an object", func(t *testing.T) string {
			raw := f.iss.Mint(t, ghClaims())
			parts := strings.Split(raw, ".")
			return parts[0] + ".WzEsMiwzXQ." + parts[2] // [1,2,3]
		}, api.ReasonMalformed},
		{"duplicate sub", func(t *testing.T) string {
			exp := now.Add(5 * time.Minute).Unix()
			return f.iss.MintRaw(t, fmt.Appendf(nil, `{"iss":%q,"aud":%q,"exp":%d,"sub":"repo:octo-org/octo-repo:ref:refs/heads/main","sub":"repo:evil/repo:ref:refs/heads/main"}`, f.iss.URL(), aud, exp))
		}, api.ReasonMalformed},
		{"compact JWE (five parts)", func(*testing.T) string { return "e30.e30.e30.e30.e30" }, api.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw(t)
			id, err := f.verify(raw)
			if id != nil {
				t.Fatalf("accepted: %+v", id)
			}
			e := wantReason(t, err, tt.reason)
			if len(raw) > 20 && strings.Contains(e.Error(), raw[len(raw)-20:]) {
				t.Errorf("the error quotes the token: %v", e)
			}
		})
	}
}

func TestVerifyMatchesClaimNamesExactly(t *testing.T) {
	f := newFixture(t)
	// "SUB" and "ISS" come after "sub" and "iss": a case-insensitive
	// decoder would take them for the registered claims.
	payload := fmt.Appendf(nil, `{"iss":%q,"aud":%q,"exp":%d,"sub":"repo:octo-org/octo-repo:ref:refs/heads/main","SUB":"repo:evil/repo:ref:refs/heads/main","ISS":"https://evil.example"}`,
		f.iss.URL(), aud, time.Now().Add(5*time.Minute).Unix())
	id, err := f.verify(f.iss.MintRaw(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "repo:octo-org/octo-repo:ref:refs/heads/main" || id.Claims["sub"] != id.Subject || id.Issuer != f.iss.URL() {
		t.Errorf("sub %q, claims sub %v, iss %q: a differently cased claim was taken for a registered one", id.Subject, id.Claims["sub"], id.Issuer)
	}
	if id.Claims["SUB"] != "repo:evil/repo:ref:refs/heads/main" {
		t.Errorf("claims = %v, want SUB kept as its own claim", id.Claims)
	}
}

func TestVerifyNoExpectedAudienceAcceptsNothing(t *testing.T) {
	f := newFixture(t)
	_, err := f.v.Verify(context.Background(), f.iss.Mint(t, ghClaims()), f.iss.URL(), nil)
	wantReason(t, err, api.ReasonWrongAudience)
}

func TestVerifyRefusesIssuerThatIsNotHTTPS(t *testing.T) {
	f := newFixture(t)
	_, err := f.v.Verify(context.Background(), f.iss.Mint(t, with(ghClaims(), "iss", "http://issuer.example.com")), "http://issuer.example.com", []string{aud})
	wantReason(t, err, api.ReasonUntrustedIssuer)
	f.wantFetches(t, 0, 0)
}

func with(c map[string]any, k string, v any) map[string]any {
	c[k] = v
	return c
}

func TestUnknownKidRefetchesAtMostOncePerMinute(t *testing.T) {
	f := newFixture(t)
	if _, err := f.verify(f.iss.Mint(t, ghClaims())); err != nil {
		t.Fatal(err)
	}
	f.wantFetches(t, 1, 1)

	// Within MinRefetch an unknown kid costs no fetch at all.
	for range 20 {
		_, err := f.verify(f.iss.MintWithUnknownKid(t, ghClaims()))
		wantReason(t, err, api.ReasonUnknownKey)
	}
	f.wantFetches(t, 1, 1)

	// After it, one refetch (of the key set only), then none again.
	f.clk.Advance(oidcverify.DefaultMinRefetch + time.Second)
	for range 5 {
		_, err := f.verify(f.iss.MintWithUnknownKid(t, ghClaims()))
		wantReason(t, err, api.ReasonUnknownKey)
	}
	f.wantFetches(t, 1, 2)
}

func TestUnknownKidOnColdCacheFetchesOnce(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		_, err := f.verify(f.iss.MintWithUnknownKid(t, ghClaims()))
		wantReason(t, err, api.ReasonUnknownKey)
	}
	f.wantFetches(t, 1, 1)
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	oldTok := f.iss.Mint(t, ghClaims())
	if _, err := f.verify(oldTok); err != nil {
		t.Fatal(err)
	}
	f.iss.RotateKeys()
	newTok := f.iss.Mint(t, ghClaims())

	// Right after the last fetch the new kid is unknown, and stays so
	// without a fetch until MinRefetch has passed.
	_, err := f.verify(newTok)
	wantReason(t, err, api.ReasonUnknownKey)
	f.wantFetches(t, 1, 1)

	f.clk.Advance(oidcverify.DefaultMinRefetch)
	if _, err := f.verify(newTok); err != nil {
		t.Fatalf("new kid after one refetch: %v", err)
	}
	f.wantFetches(t, 1, 2)
	// The old key was removed from the JWKS: its tokens no longer verify.
	_, err = f.verify(oldTok)
	wantReason(t, err, api.ReasonUnknownKey)
	f.wantFetches(t, 1, 2)
}

func TestKeyRotationKeepingOldKeys(t *testing.T) {
	f := newFixture(t)
	oldTok := f.iss.Mint(t, ghClaims(), oidctest.WithKey("ec"))
	if _, err := f.verify(oldTok); err != nil {
		t.Fatal(err)
	}
	f.iss.RotateKeysKeepOld()
	f.clk.Advance(oidcverify.DefaultMinRefetch)
	if _, err := f.verify(f.iss.Mint(t, ghClaims(), oidctest.WithKey("ec"))); err != nil {
		t.Fatalf("new key: %v", err)
	}
	if _, err := f.verify(oldTok); err != nil {
		t.Fatalf("old key still published: %v", err)
	}
	f.wantFetches(t, 1, 2)
}

func TestWithdrawnKeyStopsVerifyingAfterMaxKeyAge(t *testing.T) {
	f := newFixture(t)
	oldTok := f.iss.Mint(t, ghClaims(), oidctest.WithLifetime(3*time.Hour))
	if _, err := f.verify(oldTok); err != nil {
		t.Fatal(err)
	}
	f.iss.RotateKeys()
	// The cached key set still has the old key...
	if _, err := f.verify(oldTok); err != nil {
		t.Fatal(err)
	}
	// ...until it is older than MaxKeyAge.
	f.clk.Advance(oidcverify.DefaultMaxKeyAge)
	_, err := f.verify(oldTok)
	wantReason(t, err, api.ReasonUnknownKey)
	f.wantFetches(t, 1, 2)
}

func TestCacheNVerificationsCostOneFetch(t *testing.T) {
	f := newFixture(t)
	toks := []string{f.iss.Mint(t, ghClaims()), f.iss.Mint(t, ghClaims(), oidctest.WithKey("ec"))}
	// Concurrent verifiers on a cold cache share one fetch.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			_, err := f.verify(toks[i%2])
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		if _, err := f.verify(toks[0]); err != nil {
			t.Fatal(err)
		}
	}
	f.wantFetches(t, 1, 1)
}

func TestJWKSThatHangsIsBoundedByFetchTimeout(t *testing.T) {
	f := newFixture(t)
	f.iss.SetJWKSMode(oidctest.Hang)
	raw := f.iss.Mint(t, ghClaims())
	start := time.Now()
	_, err := f.verify(raw)
	e := wantReason(t, err, api.ReasonIssuerUnavailable)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s with a 300ms fetch timeout", elapsed)
	}
	if !strings.Contains(e.Detail, "fetching "+f.iss.JWKSURL()+": timed out after 300ms") {
		t.Errorf("detail = %q", e.Detail)
	}
	// A failed fetch is not retried within MinRefetch: no second hang.
	_, err = f.verify(raw)
	wantReason(t, err, api.ReasonIssuerUnavailable)
	f.wantFetches(t, 1, 1)

	// Once the issuer recovers and a minute passed, it works again.
	f.iss.SetJWKSMode(oidctest.Normal)
	f.clk.Advance(oidcverify.DefaultMinRefetch)
	if _, err := f.verify(raw); err != nil {
		t.Fatal(err)
	}
	f.wantFetches(t, 2, 2) // a failed fetch rediscovers
}

func TestCallerContextEndsWaitForHangingIssuer(t *testing.T) {
	f := newFixture(t)
	v := oidcverify.New(oidcverify.Options{FetchTimeout: 10 * time.Second})
	f.iss.SetJWKSMode(oidctest.Hang)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Verify(ctx, f.iss.Mint(t, ghClaims()), f.iss.URL(), []string{aud})
	wantReason(t, err, api.ReasonIssuerUnavailable)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s though the caller gave up after 100ms", elapsed)
	}
}

func TestMisbehavingIssuer(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*oidctest.Issuer)
		wantDetail string
	}{
		{"JWKS garbage", func(i *oidctest.Issuer) { i.SetJWKSMode(oidctest.Garbage) }, "not a JSON Web Key Set"},
		{"JWKS 500", func(i *oidctest.Issuer) { i.SetJWKSMode(oidctest.ServerError) }, "HTTP 500"},
		{"JWKS too large", func(i *oidctest.Issuer) { i.SetJWKSMode(oidctest.TooLarge) }, "larger than 1024 KiB"},
		{"discovery 500", func(i *oidctest.Issuer) { i.SetDiscoveryMode(oidctest.ServerError) }, "/.well-known/openid-configuration: 500"},
		{"discovery garbage", func(i *oidctest.Issuer) { i.SetDiscoveryMode(oidctest.Garbage) }, "discovery at"},
		{"discovery too large", func(i *oidctest.Issuer) { i.SetDiscoveryMode(oidctest.TooLarge) }, "larger than 1024 KiB"},
		{"discovery hangs", func(i *oidctest.Issuer) { i.SetDiscoveryMode(oidctest.Hang) }, "timed out after 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f.iss)
			raw := f.iss.Mint(t, ghClaims())
			_, err := f.verify(raw)
			e := wantReason(t, err, api.ReasonIssuerUnavailable)
			if !strings.Contains(e.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to say %q", e.Detail, tt.wantDetail)
			}
			d, j := f.iss.DiscoveryFetches(), f.iss.JWKSFetches()
			// Not retried within MinRefetch, however many tokens come.
			for range 5 {
				_, err = f.verify(raw)
				wantReason(t, err, api.ReasonIssuerUnavailable)
			}
			f.wantFetches(t, d, j)
			f.clk.Advance(oidcverify.DefaultMinRefetch)
			_, err = f.verify(raw)
			wantReason(t, err, api.ReasonIssuerUnavailable)
			// Discovery again (a failure forgets jwks_uri), and the key
			// set again if the first try got that far.
			f.wantFetches(t, d+1, 2*j)
		})
	}
}

func TestDiscoveryNamingAnotherIssuerIsRefused(t *testing.T) {
	f := newFixture(t)
	// Same server, named differently: its discovery document names the
	// 127.0.0.1 URL, not the localhost one.
	alias := strings.Replace(f.iss.URL(), "127.0.0.1", "localhost", 1)
	raw := f.iss.Mint(t, with(ghClaims(), "iss", alias))
	_, err := f.v.Verify(context.Background(), raw, alias, []string{aud})
	e := wantReason(t, err, api.ReasonIssuerUnavailable)
	if !strings.Contains(e.Detail, "names issuer") {
		t.Errorf("detail = %q", e.Detail)
	}
	f.wantFetches(t, 1, 0)
}

func TestFailedRefetchKeepsKnownKeys(t *testing.T) {
	f := newFixture(t)
	good := f.iss.Mint(t, ghClaims())
	if _, err := f.verify(good); err != nil {
		t.Fatal(err)
	}
	f.iss.SetJWKSMode(oidctest.ServerError)
	f.clk.Advance(oidcverify.DefaultMinRefetch)
	_, err := f.verify(f.iss.MintWithUnknownKid(t, ghClaims()))
	wantReason(t, err, api.ReasonIssuerUnavailable)
	if _, err := f.verify(good); err != nil {
		t.Fatalf("a known key after a failed refetch: %v", err)
	}
}

func TestPeekIssuer(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	got, err := oidcverify.PeekIssuer(iss.Mint(t, ghClaims()))
	if err != nil || got != iss.URL() {
		t.Fatalf("PeekIssuer = %q, %v; want %q", got, err, iss.URL())
	}
	// Nothing is verified: a tampered token still shows its iss.
	got, err = oidcverify.PeekIssuer(oidctest.Tamper(t, iss.Mint(t, ghClaims()), map[string]any{"iss": "https://x.example"}))
	if err != nil || got != "https://x.example" {
		t.Fatalf("PeekIssuer(tampered) = %q, %v", got, err)
	}
	for _, tt := range []struct {
		name, raw, reason string
	}{
		{"too large", strings.Repeat("a", api.MaxSubjectTokenLen+1), api.ReasonTooLarge},
		{"malformed", "not.a.jwt", api.ReasonMalformed},
		{"no iss", iss.Mint(t, ghClaims(), oidctest.WithoutClaims("iss")), api.ReasonMalformed},
		{"iss not a string", iss.Mint(t, with(ghClaims(), "iss", 42)), api.ReasonMalformed},
		{"alg none", iss.MintNone(t, ghClaims()), api.ReasonUnsupportedAlgorithm},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oidcverify.PeekIssuer(tt.raw)
			wantReason(t, err, tt.reason)
		})
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.iss.Mint(f, ghClaims()))
	f.Add(fx.iss.MintNone(f, ghClaims()))
	f.Add("e30.e30.e30")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := fx.verify(raw)
		if err == nil && id == nil {
			t.Fatal("no identity and no error")
		}
		var e *oidcverify.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error is %T, not *oidcverify.Error", err)
		}
		_, _ = oidcverify.PeekIssuer(raw)
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, key := range []string{"rsa", "ec"} {
		b.Run(map[string]string{"rsa": "RS256", "ec": "ES256"}[key], func(b *testing.B) {
			f := newFixture(b)
			raw := f.iss.Mint(b, ghClaims(), oidctest.WithKey(key))
			if _, err := f.verify(raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

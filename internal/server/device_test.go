package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/usercode"
)

func (e *testEnv) addSSOProvider() {
	e.t.Helper()
	if err := e.st.CreateSSOProvider(context.Background(), store.SSOProvider{Name: "corp", Issuer: "https://idp.example",
		ClientID: "tokend", ClientSecret: "x", UsernameClaim: "email", CreatedAt: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) startDevice() api.DeviceAuthorization {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/v1/auth/device", json: api.DeviceStartRequest{ClientHost: "laptop"}})
	if res.status != http.StatusOK {
		e.t.Fatalf("start: %d %s", res.status, res.body)
	}
	var da api.DeviceAuthorization
	res.decode(e.t, &da)
	return da
}

func (e *testEnv) poll(deviceCode string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/v1/auth/device/token", json: api.DeviceTokenRequest{GrantType: api.GrantTypeDeviceCode, DeviceCode: deviceCode}})
}

func (e *testEnv) pollCode(deviceCode string) string {
	e.t.Helper()
	res := e.poll(deviceCode)
	if res.status == http.StatusOK {
		return "ok"
	}
	return res.problem(e.t).Code
}

func TestDeviceGrant(t *testing.T) {
	e := newTestEnv(t)
	alice := e.addUser("alice", "pw-alice-1")

	// No provider: the CLI is told to use a password.
	res := e.do(req{method: "POST", path: "/v1/auth/device", json: api.DeviceStartRequest{ClientHost: "laptop"}})
	if res.status != http.StatusForbidden || res.problem(t).Code != api.CodeSSONotConfigured {
		t.Fatalf("start without a provider: %d %s", res.status, res.body)
	}
	e.addSSOProvider()
	da := e.startDevice()
	code, ok := usercode.Normalize(da.UserCode)
	if !ok || da.UserCode != usercode.Format(code) || da.ExpiresIn != 600 || da.Interval != 5 ||
		da.VerificationURI != "http://example.com/login/device" ||
		da.VerificationURIComplete != "http://example.com/login/device?user_code="+da.UserCode {
		t.Fatalf("start = %+v", da)
	}
	if got := e.pollCode(da.DeviceCode); got != api.CodeAuthorizationPending {
		t.Fatalf("first poll = %s", got)
	}
	// At once again: slow_down, with the grown interval.
	res = e.poll(da.DeviceCode)
	if p := res.problem(t); p.Code != api.CodeSlowDown || p.Interval != 10 {
		t.Fatalf("early poll = %+v", p)
	}
	if err := e.st.DecideDeviceCode(context.Background(), code, true, alice.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Second)
	res = e.poll(da.DeviceCode)
	if res.status != http.StatusOK {
		t.Fatalf("poll after approval: %d %s", res.status, res.body)
	}
	var tok api.DeviceToken
	res.decode(t, &tok)
	if tok.User.Username != "alice" || tok.Name != "tokenctl@laptop" || tok.AccessToken != tok.Secret || tok.TokenType != "Bearer" ||
		!strings.HasPrefix(tok.Secret, "tkn_") || tok.ExpiresIn != int64(api.DefaultLoginLifetime/time.Second) {
		t.Fatalf("device token = %+v", tok)
	}
	// The token works, and carries the user's full power.
	if r := e.do(req{method: "GET", path: "/v1/user", auth: bearer(tok.Secret)}); r.status != http.StatusOK {
		t.Fatalf("the login token does not work: %d %s", r.status, r.body)
	}
	// Collected once: the next poll, and a replay, are expired_token.
	e.clock.Advance(11 * time.Second)
	if got := e.pollCode(da.DeviceCode); got != api.CodeExpiredToken {
		t.Fatalf("poll after collecting = %s", got)
	}
	if got := e.pollCode("not-a-device-code"); got != api.CodeExpiredToken {
		t.Fatalf("unknown code = %s", got)
	}
	toks, _, _ := e.st.ScanTokens(context.Background(), store.ListOptions{UserID: alice.ID, Limit: 10})
	if len(toks) != 1 {
		t.Fatalf("alice has %d tokens, want the one login token", len(toks))
	}
}

func TestDeviceGrantRefusalsMintNothing(t *testing.T) {
	e := newTestEnv(t)
	alice := e.addUser("alice", "pw-alice-1")
	e.addSSOProvider()

	denied := e.startDevice()
	code, _ := usercode.Normalize(denied.UserCode)
	if err := e.st.DecideDeviceCode(context.Background(), code, false, "", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := e.pollCode(denied.DeviceCode); got != api.CodeAccessDenied {
		t.Fatalf("denied = %s", got)
	}

	late := e.startDevice()
	code, _ = usercode.Normalize(late.UserCode)
	if err := e.st.DecideDeviceCode(context.Background(), code, true, alice.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DeviceCodeLifetime)
	if got := e.pollCode(late.DeviceCode); got != api.CodeExpiredToken {
		t.Fatalf("approved but expired = %s", got)
	}
	for _, c := range []struct {
		name string
		body string
		want string
	}{
		{"wrong grant type", `{"grant_type":"password","device_code":"x"}`, api.CodeValidation},
		{"no device code", `{}`, api.CodeValidation},
		{"an unknown field", `{"device_code":"x","user":"alice"}`, api.CodeInvalidJSON},
		{"too short a lifetime", `{"device_code":"x","expires_in_seconds":5}`, api.CodeValidation},
	} {
		res := e.do(req{method: "POST", path: "/v1/auth/device/token", body: c.body})
		if res.status != http.StatusBadRequest || res.problem(t).Code != c.want {
			t.Errorf("%s: %d %s", c.name, res.status, res.body)
		}
	}
	for _, host := range []string{"", "a\nb", strings.Repeat("h", 256)} {
		res := e.do(req{method: "POST", path: "/v1/auth/device", json: api.DeviceStartRequest{ClientHost: host}})
		if res.status != http.StatusBadRequest || res.problem(t).Code != api.CodeValidation {
			t.Errorf("client_host %q: %d %s", host, res.status, res.body)
		}
	}
	if toks, _, _ := e.st.ScanTokens(context.Background(), store.ListOptions{UserID: alice.ID, Limit: 10}); len(toks) != 0 {
		t.Fatalf("refusals minted %d tokens", len(toks))
	}
}

func TestPasswordLoginOff(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.DisablePasswordLogin = true })
	e.addUser("alice", "pw-alice-1")
	res := e.do(req{method: "GET", path: "/v1/user", auth: basic("alice", "pw-alice-1")})
	if res.status != http.StatusUnauthorized || !strings.Contains(res.problem(t).Detail, "tokenctl auth login --web") {
		t.Fatalf("password with password login off: %d %s", res.status, res.body)
	}
	var info api.ServerInfo
	if res := e.do(req{method: "GET", path: "/v1/server"}); res.status != http.StatusOK {
		t.Fatalf("server info: %d", res.status)
	} else if res.decode(t, &info); info.PasswordLogin {
		t.Fatal("GET /v1/server says passwords are accepted")
	}
}

func TestProvisionedUserHasNoPassword(t *testing.T) {
	e := newTestEnv(t)
	u := store.User{ID: store.NewID(time.Now()), Username: "carol", CreatedAt: time.Now().UTC()}
	if err := e.st.CreateSSOUser(context.Background(), u, "corp"); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "x", "anything"} {
		res := e.do(req{method: "GET", path: "/v1/user", auth: basic("carol", pw)})
		if res.status != http.StatusUnauthorized {
			t.Fatalf("password %q for an SSO user: %d %s", pw, res.status, res.body)
		}
	}
}

// Config.DevicePollInterval is the start's interval and slow_down's base;
// Validate refuses one that is not whole seconds from 1s to 30s.
func TestDevicePollIntervalConfig(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.DevicePollInterval = 2 * time.Second })
	e.addSSOProvider()
	da := e.startDevice()
	if da.Interval != 2 {
		t.Fatalf("interval = %d, want 2", da.Interval)
	}
	if got := e.pollCode(da.DeviceCode); got != api.CodeAuthorizationPending {
		t.Fatalf("first poll = %s", got)
	}
	e.clock.Advance(time.Second) // sooner than 2 s
	if p := e.poll(da.DeviceCode).problem(t); p.Code != api.CodeSlowDown || p.Interval != 7 {
		t.Fatalf("early poll = %+v, want slow_down with interval 7", p)
	}
	e.clock.Advance(7 * time.Second)
	if got := e.pollCode(da.DeviceCode); got != api.CodeAuthorizationPending {
		t.Fatalf("poll after the grown interval = %s", got)
	}
	for _, d := range []time.Duration{-time.Second, 500 * time.Millisecond, 1500 * time.Millisecond, 31 * time.Second, time.Minute, time.Hour} {
		var ce *ConfigError
		if err := (Config{DevicePollInterval: d}).Validate(); !errors.As(err, &ce) || ce.Field != "DevicePollInterval" {
			t.Errorf("Validate(%s) = %v, want a DevicePollInterval error", d, err)
		}
	}
	for _, d := range []time.Duration{0, time.Second, 5 * time.Second, 30 * time.Second} {
		if err := (Config{DevicePollInterval: d}).Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", d, err)
		}
	}
}

// Starting device authorizations is limited per address: past
// Config.DeviceStarts in a window, 429 with Retry-After and nothing
// stored; another address is unaffected; the next window admits again.
func TestDeviceStartsAreLimitedPerAddress(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.DeviceStarts = 3 })
	e.addSSOProvider()
	start := func(remote string) resp {
		return e.do(req{method: "POST", path: "/v1/auth/device", json: api.DeviceStartRequest{ClientHost: "laptop"}, remote: remote})
	}
	for i := range 3 {
		if res := start("198.51.100.7:1000"); res.status != http.StatusOK {
			t.Fatalf("start %d = %d %s", i+1, res.status, res.body)
		}
	}
	for range 2 {
		res := start("198.51.100.7:2000")
		if res.status != http.StatusTooManyRequests || res.problem(t).Code != api.CodeRateLimited || res.header.Get("Retry-After") == "" {
			t.Fatalf("start past the budget = %d %s (Retry-After %q)", res.status, res.body, res.header.Get("Retry-After"))
		}
	}
	if res := start("198.51.100.8:1000"); res.status != http.StatusOK {
		t.Fatalf("another address = %d %s", res.status, res.body)
	}
	e.clock.Advance(DefaultAuthFailWindow)
	if res := start("198.51.100.7:1000"); res.status != http.StatusOK {
		t.Fatalf("next window = %d %s", res.status, res.body)
	}
}

// The starts of two replicas on one store spend one budget.
func TestDeviceStartsLimitSpansReplicas(t *testing.T) {
	e, _, hs := replicas(t, 10)
	e.addSSOProvider()
	const limit = DefaultDeviceStarts
	startOn := func(h http.Handler) int {
		r := httptest.NewRequest("POST", "/v1/auth/device", strings.NewReader(`{"client_host":"laptop"}`))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = "198.51.100.9:4444"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for i := range limit {
		if got := startOn(hs[i%2]); got != http.StatusOK {
			t.Fatalf("start %d = %d", i+1, got)
		}
	}
	for _, h := range hs {
		if got := startOn(h); got != http.StatusTooManyRequests {
			t.Fatalf("start %d on a replica = %d, want 429 (one budget for both)", limit+1, got)
		}
	}
}

// Codes waiting for a person are bounded overall: past
// Config.MaxPendingDeviceCodes a start is 503 with Retry-After; a code
// decided or expired makes room.
func TestPendingDeviceCodesAreBounded(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxPendingDeviceCodes = 2 })
	e.addSSOProvider()
	first := e.startDevice()
	e.startDevice()
	res := e.do(req{method: "POST", path: "/v1/auth/device", json: api.DeviceStartRequest{ClientHost: "laptop"}, remote: "203.0.113.5:1"})
	if res.status != http.StatusServiceUnavailable || res.problem(t).Code != api.CodeUnavailable || res.header.Get("Retry-After") != "60" {
		t.Fatalf("start past the bound = %d %s", res.status, res.body)
	}
	code, _ := usercode.Normalize(first.UserCode)
	if err := e.st.DecideDeviceCode(context.Background(), code, false, "", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.startDevice()
	e.clock.Advance(DeviceCodeLifetime)
	e.startDevice()
	e.startDevice()
}

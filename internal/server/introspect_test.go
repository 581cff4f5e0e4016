package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rs"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
)

// TestIntrospectWithAnRFC7662Client: zitadel's resource-server client, set
// up as a gateway would be (client credentials: the gateway's token as the
// client secret), introspects another user's live token, an expired one,
// a deleted one and garbage.
func TestIntrospectWithAnRFC7662Client(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("gw", "pw")
	bob := e.addUser("bob", "pw2")
	gw := e.create(basic("gw", "pw"), map[string]any{"name": "gateway", "scopes": []string{scope.TokensIntrospect}})
	live := e.create(basic("bob", "pw2"), map[string]any{"name": "live", "scopes": []string{scope.TokensRead, scope.TokensWrite}})
	short := e.create(basic("bob", "pw2"), map[string]any{"name": "short", "expires_in_seconds": 60})
	gone := e.create(basic("bob", "pw2"), map[string]any{"name": "gone"})
	if res := e.do(req{method: "DELETE", path: "/v1/tokens/" + gone.ID, auth: basic("bob", "pw2")}); res.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	e.clock.Advance(2 * time.Minute)

	srv := httptest.NewServer(e.h)
	defer srv.Close()
	ctx := context.Background()
	client, err := rs.NewResourceServerClientCredentials(ctx, srv.URL, "gateway", gw.Secret,
		rs.WithStaticEndpoints(srv.URL+"/unused-token-endpoint", srv.URL+"/v1/introspect"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, client, live.Secret)
	if err != nil {
		t.Fatalf("introspect a live token: %v", err)
	}
	if !got.Active || !slices.Equal([]string(got.Scope), []string{scope.TokensRead, scope.TokensWrite}) ||
		got.Username != "bob" || got.Subject != bob.ID || got.TokenType != "Bearer" ||
		got.Expiration.AsTime().Unix() != live.ExpiresAt.Unix() || got.IssuedAt.AsTime().Unix() != live.CreatedAt.Unix() {
		t.Fatalf("live token introspected as %+v", got)
	}
	for name, s := range map[string]string{"expired": short.Secret, "deleted": gone.Secret, "garbage": "not-a-token",
		"wrong checksum": live.Secret[:len(live.Secret)-2] + "00"} {
		got, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, client, s)
		if err != nil || got.Active || got.Username != "" || got.Subject != "" || len(got.Scope) > 0 {
			t.Errorf("%s token introspected as %+v, %v; want only active false", name, got, err)
		}
	}

	// The answer for anything not live is exactly {"active": false}, and
	// introspecting does not count as using the token.
	res := e.do(req{method: "POST", path: "/v1/introspect", auth: bearer(gw.Secret),
		contentType: "application/x-www-form-urlencoded", body: url.Values{"token": {short.Secret}, "token_type_hint": {"access_token"}}.Encode()})
	if res.status != http.StatusOK || string(bytes.TrimSpace(res.body)) != `{"active":false}` || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("expired token: %d %q", res.status, res.body)
	}
	var tok api.Token
	e.do(req{method: "GET", path: "/v1/tokens/" + live.ID, auth: basic("bob", "pw2")}).decode(t, &tok)
	if tok.LastUsedAt != nil {
		t.Errorf("introspection set the introspected token's last_used_at to %v", tok.LastUsedAt)
	}

	// Offboarding: a disabled user's live token is refused everywhere, so
	// it is not active to a gateway either.
	if err := e.st.SetUserDisabled(ctx, "bob", true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, client, live.Secret); err != nil || got.Active || got.Username != "" {
		t.Fatalf("a disabled user's token introspected as %+v, %v; want only active false", got, err)
	}
}

// TestIntrospectRefusesCallers: only a token with tokens:introspect may ask.
func TestIntrospectRefusesCallers(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("gw", "pw")
	gw := e.create(basic("gw", "pw"), map[string]any{"name": "gateway", "scopes": []string{scope.TokensIntrospect}})
	plain := e.create(basic("gw", "pw"), map[string]any{"name": "plain", "scopes": []string{scope.TokensRead}})
	form := url.Values{"token": {plain.Secret}}.Encode()
	const ct = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, auth, contentType, body string
		status                        int
	}{
		{"no credential", "", ct, form, 401},
		{"a bad token", bearer(gw.Secret[:len(gw.Secret)-1] + "0"), ct, form, 401},
		{"a token without tokens:introspect", bearer(plain.Secret), ct, form, 403},
		{"the same as a Basic secret", basic("gateway", plain.Secret), ct, form, 403},
		{"a password", basic("gw", "pw"), ct, form, 403},
		{"JSON instead of a form", bearer(gw.Secret), "application/json", `{"token":"x"}`, 415},
		{"no token field", bearer(gw.Secret), ct, "token_type_hint=access_token", 400},
		{"two token fields", bearer(gw.Secret), ct, form + "&" + form, 400},
	} {
		res := e.do(req{method: "POST", path: "/v1/introspect", auth: tc.auth, contentType: tc.contentType, body: tc.body})
		if res.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, res.status, res.body, tc.status)
			continue
		}
		res.problem(t)
	}
	res := e.do(req{method: "POST", path: "/v1/introspect", auth: basic("gateway", gw.Secret), contentType: ct, body: form})
	var got Introspection
	res.decode(t, &got)
	if res.status != http.StatusOK || !got.Active || got.Scope != scope.TokensRead {
		t.Fatalf("Basic with the gateway token: %d %s", res.status, res.body)
	}
}

// BenchmarkIntrospect: one RFC 7662 answer for a live token through the
// whole handler: two digest lookups (caller and token), no write.
func BenchmarkIntrospect(b *testing.B) {
	e := newTestEnv(b)
	e.validate = false
	e.addUser("gw", "pw")
	gw := e.create(basic("gw", "pw"), map[string]any{"name": "gateway", "scopes": []string{scope.TokensIntrospect}})
	live := e.create(basic("gw", "pw"), map[string]any{"name": "live"})
	body := url.Values{"token": {live.Secret}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/introspect", strings.NewReader(body))
		r.Header.Set("Authorization", bearer(gw.Secret))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("introspect: %d %s", w.Code, w.Body)
		}
	}
}

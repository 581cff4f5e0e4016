package server

import (
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/version"
)

// TestServerInfo: issue 20 item 7. A client learns, before it signs in,
// the longest lifetime this server allows, and the login lifetime it
// advertises is one the server then accepts (tokenctl's fixed 90 days was
// a 400 under a one-hour maximum).
func TestServerInfo(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxLifetime = time.Hour })
	e.addUser("alice", "pw")
	res := e.do(req{method: "GET", path: "/v1/server"})
	if res.status != http.StatusOK {
		t.Fatalf("GET /v1/server without a credential: %d %s", res.status, res.body)
	}
	var info api.ServerInfo
	res.decode(t, &info)
	want := api.ServerInfo{
		Version:                     version.String(),
		TokenPrefix:                 "tkn_",
		DefaultTokenLifetimeSeconds: 3600,
		MinTokenLifetimeSeconds:     60,
		MaxTokenLifetimeSeconds:     3600,
		DefaultLoginLifetimeSeconds: 3600,
		PasswordLogin:               true,
		Features:                    []string{"admin", "events", "exchange", "idempotency", "introspect", "revoke", "scopes"},
		MaxPageSize:                 1000,
		MaxBulkDelete:               1000,
		MaxTokensPerUser:            DefaultMaxTokensPerUser,
		MaxNameLength:               100,
		MaxDescriptionLength:        1000,
	}
	if !slices.Equal(info.Features, want.Features) {
		t.Errorf("features = %q, want %q", info.Features, want.Features)
	}
	info.Features, want.Features = nil, nil
	if !reflect.DeepEqual(info, want) {
		t.Errorf("GET /v1/server = %+v\nwant %+v", info, want)
	}

	// What it advertises for a login is what a create accepts; one second
	// more is the 400 tokenctl met.
	ok := e.do(req{method: "POST", path: "/v1/tokens", auth: basic("alice", "pw"),
		json: map[string]any{"name": "tokenctl@laptop", "expires_in_seconds": info.DefaultLoginLifetimeSeconds}})
	if ok.status != http.StatusCreated {
		t.Fatalf("create with default_login_lifetime_seconds: %d %s", ok.status, ok.body)
	}
	over := e.do(req{method: "POST", path: "/v1/tokens", auth: basic("alice", "pw"),
		json: map[string]any{"name": "tokenctl@laptop", "expires_in_seconds": info.MaxTokenLifetimeSeconds + 1}})
	if over.status != http.StatusBadRequest {
		t.Fatalf("create past max_token_lifetime_seconds: %d", over.status)
	}

	// The default server advertises 90 days for a login.
	d := newTestEnv(t)
	d.do(req{method: "GET", path: "/v1/server"}).decode(t, &info)
	if info.DefaultLoginLifetimeSeconds != 90*24*3600 || info.MaxTokenLifetimeSeconds != seconds(DefaultMaxLifetime) {
		t.Errorf("default server: login %d, max %d", info.DefaultLoginLifetimeSeconds, info.MaxTokenLifetimeSeconds)
	}

	// A credential sent anyway, even a wrong one, is not checked.
	if res := e.do(req{method: "GET", path: "/v1/server", auth: basic("alice", "wrong")}); res.status != http.StatusOK {
		t.Errorf("with a wrong password: %d", res.status)
	}
}

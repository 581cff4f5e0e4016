package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/server"
)

// The issue: on a server whose maximum lifetime is under 90 days, a
// password login failed with the server's words (expires_in_seconds …)
// and never named --expires-in.

// A server that states its limits (GET /v1/server): the login token gets
// what the server allows, and a longer --expires-in is refused before the
// password is sent, naming the flag.
func TestLoginDefaultsToWhatTheServerAllows(t *testing.T) {
	srv := newAPIServerWith(t, server.Config{MaxLifetime: time.Hour})
	srv.info.Store(&api.ServerInfo{Version: "test", MaxTokenLifetimeSeconds: 3600, DefaultTokenLifetimeSeconds: 3600, PasswordLogin: true})
	e := newTestEnv(t)

	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--expires-in", "90d", "--insecure-storage")
	if r.code != 2 {
		t.Fatalf("--expires-in 90d: exit %d, want 2: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, "invalid --expires-in 90d", "at most 1h", "--expires-in 1h or less")
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("not one line: %q", r.stderr)
	}
	if n := srv.tokenCount(t); n != 0 {
		t.Errorf("%d tokens minted by a refused login", n)
	}

	r = e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("login without --expires-in: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, "(in 1h)")
}

// The server's own default for logins wins over tokenctl's 90 days.
func TestLoginUsesTheServersLoginDefault(t *testing.T) {
	srv := newAPIServerWith(t, server.Config{MaxLifetime: 30 * 24 * time.Hour, DefaultLoginLifetime: 7 * 24 * time.Hour})
	srv.info.Store(&api.ServerInfo{Version: "test", MaxTokenLifetimeSeconds: 30 * 86400, DefaultTokenLifetimeSeconds: 86400, DefaultLoginLifetimeSeconds: 7 * 86400, PasswordLogin: true})
	e := newTestEnv(t)
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, "(in 7d)")
}

// A server without GET /v1/server (404) is logged in to as before, and
// when it refuses the lifetime, the error names --expires-in.
func TestLoginToAServerWithoutLimitsNamesTheFlag(t *testing.T) {
	srv := newAPIServerWith(t, server.Config{MaxLifetime: time.Hour})
	srv.older.Store(true)
	e := newTestEnv(t)
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, "invalid --expires-in 90d (the default)", "expires_in_seconds must be at most 3600")

	r = e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage", "--expires-in", "30m")
	if r.code != 0 {
		t.Fatalf("--expires-in 30m: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, "(in 30m)")
}

// An older server with today's limits is logged in to with today's
// default, 90 days.
func TestLoginToAnOlderServerKeepsTheOldDefault(t *testing.T) {
	srv := newAPIServer(t)
	srv.older.Store(true)
	e := newTestEnv(t)
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, "(in 90d)")
}

// Asking for the limits must not undo "a rate-limited password login is
// never retried": the login's password check is a 429 (tokend limits
// wrong passwords per account and address; GET /v1/server, sent without
// credentials, is never refused for them), and the login says so at once
// instead of announcing a wait.
func TestRateLimitedLoginDoesNotWaitForTheLimits(t *testing.T) {
	srv := newAPIServerWith(t, server.Config{PasswordFailures: 1, AuthFailWindow: 20 * time.Second})
	e := newTestEnv(t)
	if r := e.run("wrong\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage"); r.code != 4 {
		t.Fatalf("wrong password: exit %d: %s", r.code, r.stderr)
	}
	before := srv.requests.Load()
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 1 || strings.Contains(r.stderr, "retrying") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	mustContain(t, "stderr", r.stderr, "too many failed sign-ins from this address; try again in")
	if n := srv.requests.Load() - before; n != 2 {
		t.Errorf("%d requests, want 2 (the limits, the login), none repeated", n)
	}
}

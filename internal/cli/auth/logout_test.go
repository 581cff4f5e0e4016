package auth_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/cli/auth"
)

// loginFile logs alice in with her password, the token in the plain file
// (these tests are about the server side, not the keyring).
func (e *testEnv) loginFile(t *testing.T, host string) {
	t.Helper()
	r := e.run("pw-alice\n", "auth", "login", "--host", host, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, hideTokens(r.stderr))
	}
}

func (e *testEnv) statusToken(t *testing.T) *auth.StatusTokenJSON {
	t.Helper()
	var doc auth.StatusJSON
	r := e.run("", "auth", "status", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Token == nil {
		t.Fatalf("status JSON: %v (%s)", err, hideTokens(r.stderr))
	}
	return doc.Token
}

// The issue: logout left the login token alive, and a second login then
// left two live tokens nobody held.
func TestLogoutRevokesTheLoginToken(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	e.loginFile(t, srv.URL)
	tok := e.statusToken(t)
	r := e.run("", "auth", "logout")
	if r.code != 0 {
		t.Fatalf("logout: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "logout", r.stderr, "removed the token from", "revoked its login token "+tok.Name+" (id "+tok.ID+") on the server")
	if n := srv.tokenCount(t); n != 0 {
		t.Errorf("server holds %d tokens after logout, want 0", n)
	}

	// Log in, log in again, log out: nothing is left behind.
	e.loginFile(t, srv.URL)
	e.loginFile(t, srv.URL)
	if r := e.run("", "auth", "logout"); r.code != 0 {
		t.Fatalf("logout: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	if n := srv.tokenCount(t); n != 0 {
		t.Errorf("server holds %d tokens after login, login, logout; want 0", n)
	}
}

func TestLogoutKeepsATokenAddedWithWithToken(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	pat := srv.addToken(t, 48*time.Hour)
	if r := e.run(pat+"\n", "auth", "login", "--host", srv.URL, "--with-token", "--insecure-storage"); r.code != 0 {
		t.Fatalf("login --with-token: %s", hideTokens(r.stderr))
	}
	tok := e.statusToken(t)
	r := e.run("", "auth", "logout")
	if r.code != 0 {
		t.Fatalf("logout: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "logout", r.stderr, "token seeded (id "+tok.ID+") stays valid on the server: it was added with --with-token")
	if n := srv.tokenCount(t); n != 1 {
		t.Errorf("server holds %d tokens, want the user's own 1", n)
	}
	if r := e.run("", "auth", "status"); r.code != 4 {
		t.Errorf("status after logout: exit %d, want 4", r.code)
	}
}

// A server that cannot be reached does not keep the credential on this
// machine: it goes, and the line names the token left alive.
func TestLogoutWhenTheServerIsDownStillRemovesTheCredential(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	e.loginFile(t, srv.URL)
	tok := e.statusToken(t)
	srv.Close()
	r := e.run("", "auth", "logout", "--timeout", "5s")
	if r.code != 0 {
		t.Fatalf("logout: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "logout", r.stderr, "removed the token from",
		"warning: could not revoke the login token "+tok.Name+" (id "+tok.ID+")", "tokenctl token delete "+tok.ID)
	if r := e.run("", "auth", "status"); r.code != 4 {
		t.Errorf("status after logout: exit %d, want 4 (not logged in): %s", r.code, hideTokens(r.stderr))
	}
}

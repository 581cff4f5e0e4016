package auth_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/cli/auth"
	"github.com/tokenctl/tokenctl/internal/credential"
)

// keyringEntry reads the real keyring; "" when there is no entry.
func keyringEntry(t *testing.T, account string) string {
	t.Helper()
	s, err := credential.Keyring{}.Get(account)
	if err != nil && err != credential.ErrNotFound {
		t.Fatal(err)
	}
	return s
}

func cleanKeyring(t *testing.T, accounts ...string) {
	t.Cleanup(func() {
		for _, a := range accounts {
			_ = credential.Keyring{}.Delete(a)
		}
	})
}

func (e *testEnv) login(t *testing.T, host, user string) result {
	t.Helper()
	r := e.run("pw-"+user+"\n", "auth", "login", "--host", host, "--username", user, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login as %s: exit %d: %s", user, r.code, hideTokens(r.stderr))
	}
	return r
}

var revokedRE = regexp.MustCompile(`Revoked the login token it replaced \(id ([0-9a-z]{26})\)`)

func TestLoginAgainRevokesTheReplacedLoginToken(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t)
	e := newTestEnv(t)
	cleanKeyring(t, "alice@"+srv.URL)
	e.login(t, srv.URL, "alice")
	r := e.login(t, srv.URL, "alice")
	if !revokedRE.MatchString(r.stderr) {
		t.Errorf("second login does not say it revoked the old token: %s", hideTokens(r.stderr))
	}
	if n := srv.tokenCount(t); n != 1 {
		t.Errorf("server holds %d tokens after logging in twice, want 1", n)
	}
	if r := e.run("", "auth", "status"); r.code != 0 {
		t.Errorf("status after the second login: exit %d: %s", r.code, hideTokens(r.stderr))
	}
}

func TestLoginAgainKeepsATokenGivenWithWithToken(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t)
	e := newTestEnv(t)
	cleanKeyring(t, "alice@"+srv.URL)
	pat := srv.addToken(t, 48*time.Hour)
	if r := e.run(pat+"\n", "auth", "login", "--host", srv.URL, "--with-token"); r.code != 0 {
		t.Fatalf("login --with-token: %s", hideTokens(r.stderr))
	}
	r := e.login(t, srv.URL, "alice")
	if revokedRE.MatchString(r.stderr) {
		t.Error("a token the user brought was revoked")
	}
	if n := srv.tokenCount(t); n != 2 {
		t.Errorf("server holds %d tokens, want 2 (the user's own and the login token)", n)
	}
}

func TestLoginAgainWhenTheRevokeFailsSaysSo(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t)
	e := newTestEnv(t)
	cleanKeyring(t, "alice@"+srv.URL)
	e.login(t, srv.URL, "alice")
	var doc auth.StatusJSON
	r := e.run("", "auth", "status", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Token == nil {
		t.Fatalf("status JSON: %v", err)
	}
	srv.refuseDeletes.Store(true)
	r = e.login(t, srv.URL, "alice") // exit 0: the login itself worked
	mustContain(t, "stderr", r.stderr, "could not revoke the login token this login replaced (id "+doc.Token.ID+")", "tokenctl token delete "+doc.Token.ID)
	if n := srv.tokenCount(t); n != 2 {
		t.Errorf("server holds %d tokens, want 2", n)
	}
}

func TestTwoUsersOnOneHost(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t, "bob", "carol")
	e := newTestEnv(t)
	cleanKeyring(t, "alice@"+srv.URL, "bob@"+srv.URL, "carol@"+srv.URL)
	e.login(t, srv.URL, "alice")
	alice := keyringEntry(t, "alice@"+srv.URL)
	r := e.login(t, srv.URL, "bob")
	mustContain(t, "second user's login", r.stderr, "bob is now the active account", "auth switch")
	if revokedRE.MatchString(r.stderr) {
		t.Error("logging in as bob revoked alice's token")
	}
	if keyringEntry(t, "alice@"+srv.URL) != alice {
		t.Fatal("logging in as bob replaced alice's credential")
	}
	bob := keyringEntry(t, "bob@"+srv.URL)
	if r := e.run("", "auth", "token"); r.stdout != bob+"\n" {
		t.Error("the active credential is not bob's")
	}

	r = e.run("", "auth", "status")
	if r.code != 0 {
		t.Fatalf("status: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "status", r.stdout, "Logged in as:  bob (active)", "Logged in as:  alice\n")
	if strings.Index(r.stdout, "bob (active)") > strings.Index(r.stdout, "alice") {
		t.Error("the active account is not listed first")
	}
	var doc auth.StatusJSON
	r = e.run("", "auth", "status", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Username != "bob" || len(doc.Accounts) != 2 || !doc.Accounts[0].Active || doc.Accounts[0].Username != "bob" ||
		doc.Accounts[1].Username != "alice" || doc.Accounts[1].Active || doc.Accounts[1].State != "ok" || doc.Accounts[1].Token == nil {
		t.Errorf("status JSON = %+v", doc)
	}

	// Off a terminal, with two accounts, switch toggles.
	r = e.run("", "auth", "switch")
	if r.code != 0 {
		t.Fatalf("switch: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "switch", r.stderr, "Switched the active account for "+srv.URL+" to alice")
	if r := e.run("", "auth", "token"); r.stdout != alice+"\n" {
		t.Error("after switch, the credential in use is not alice's")
	}
	if r := e.run("", "auth", "switch", "--user", "carol"); r.code != 2 || !strings.Contains(r.stderr, "carol is not logged in to "+srv.URL+": logged in are alice, bob") {
		t.Errorf("switch to a user not logged in: exit %d: %s", r.code, r.stderr)
	}

	// With three, off a terminal, --user is needed.
	e.login(t, srv.URL, "carol")
	if r := e.run("", "auth", "switch"); r.code != 2 || !strings.Contains(r.stderr, "pass --user") {
		t.Errorf("switch among three off a terminal: exit %d: %s", r.code, r.stderr)
	}
	if r := e.run("", "auth", "switch", "--user", "bob"); r.code != 0 {
		t.Fatalf("switch --user bob: %s", r.stderr)
	}

	// Logging out another user leaves the active one alone.
	r = e.run("", "auth", "logout", "--user", "alice")
	if r.code != 0 {
		t.Fatalf("logout --user alice: %s", r.stderr)
	}
	if keyringEntry(t, "alice@"+srv.URL) != "" {
		t.Error("alice's entry survived her logout")
	}
	if r := e.run("", "auth", "token"); r.stdout != bob+"\n" {
		t.Error("logging out alice changed the credential in use")
	}
	// Logging out the active one makes another active.
	r = e.run("", "auth", "logout")
	mustContain(t, "logout", r.stderr, "Logged out of "+srv.URL+" as bob", "The active account for "+srv.URL+" is carol")
	if r := e.run("", "auth", "status"); !strings.Contains(r.stdout, "Logged in as:  carol") {
		t.Errorf("after bob logged out: %s", r.stdout)
	}
}

func TestSwitchOnATerminalAsksWhichAccount(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t, "bob", "carol")
	e := newTestEnv(t)
	cleanKeyring(t, "alice@"+srv.URL, "bob@"+srv.URL, "carol@"+srv.URL)
	for _, u := range []string{"alice", "bob", "carol"} {
		e.login(t, srv.URL, u)
	}
	r := e.runTTY("2\n", "auth", "switch")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "prompt", r.stderr, "1) alice", "2) bob", "3) carol (active)", "Switched the active account for "+srv.URL+" to bob")
	if r := e.runTTY("7\n", "auth", "switch"); r.code != 2 || !strings.Contains(r.stderr, "want a number from 1 to 3") {
		t.Errorf("out-of-range choice: exit %d: %s", r.code, r.stderr)
	}
	// Ctrl-C at the chooser (a cancelled context; the pty test does the
	// real key) stops at once and switches nothing, even with an answer
	// typed ahead.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := e.runCtx(ctx, true, "1\n", "auth", "switch"); r.code != 130 || strings.Contains(r.stderr, "Switched") {
		t.Errorf("^C at the chooser: exit %d: %s", r.code, r.stderr)
	}
}

// A user of the single-account version stays logged in: the keyring entry
// named after the bare host and the old state.yaml are read, and moved to
// user@host on the way.
func TestSingleAccountLoginStillWorks(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t)
	e := newTestEnv(t)
	cleanKeyring(t, srv.URL, "alice@"+srv.URL)
	tok := srv.addToken(t, 48*time.Hour)
	if err := (credential.Keyring{}).Set(srv.URL, tok); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.configDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	old := srv.URL + ":\n  username: alice\n  token_id: x\n  token_name: seeded\n  key_hint: x\n  expires_at: 2030-01-01T00:00:00Z\n"
	if err := os.WriteFile(filepath.Join(e.configDir(), "state.yaml"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars["TOKENCTL_HOST"] = srv.URL
	r := e.run("", "auth", "status")
	if r.code != 0 {
		t.Fatalf("status: exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "status", r.stdout, "Logged in as:  alice", "OS keyring")
	if keyringEntry(t, "alice@"+srv.URL) != tok || keyringEntry(t, srv.URL) != "" {
		t.Error("the bare-host entry was not moved to alice@host")
	}
	if r := e.run("", "auth", "token"); r.stdout != tok+"\n" {
		t.Error("auth token after the move does not print the same token")
	}
}

package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/cli/auth"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/cli/factory"
	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// testEnv is one user's world: a private HOME and config directory and the
// environment tokenctl sees. Commands run in-process through root.Run.
type testEnv struct {
	t    *testing.T
	home string
	vars map[string]string
}

func newTestEnv(t *testing.T) *testEnv {
	home := t.TempDir()
	return &testEnv{t: t, home: home, vars: map[string]string{
		"HOME":                     home,
		"XDG_CONFIG_HOME":          filepath.Join(home, ".config"),
		"TOKENCTL_KEYRING_TIMEOUT": "3s",
	}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *testEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	return e.runOn(false, stdin, args...)
}

// runTTY runs as if stdin and stderr were a terminal.
func (e *testEnv) runTTY(stdin string, args ...string) result {
	e.t.Helper()
	return e.runOn(true, stdin, args...)
}

func (e *testEnv) runOn(tty bool, stdin string, args ...string) result {
	e.t.Helper()
	return e.runCtx(context.Background(), tty, stdin, args...)
}

// runCtx runs with ctx: a cancelled one is Ctrl-C at the first prompt.
func (e *testEnv) runCtx(ctx context.Context, tty bool, stdin string, args ...string) result {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetStdinTTY(tty)
	ios.SetStderrTTY(tty)
	in.WriteString(stdin)
	code := root.Run(ctx, args, ios, func(k string) string { return e.vars[k] })
	return result{code, out.String(), errOut.String()}
}

func (e *testEnv) configDir() string { return filepath.Join(e.home, ".config", "tokenctl") }

// filesContaining lists files under HOME that contain s.
func (e *testEnv) filesContaining(s string) []string {
	var hits []string
	_ = filepath.WalkDir(e.home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(s)) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

// needKeyring skips (or fails, when CI=true) unless a usable Secret Service
// is reachable: the Makefile runs the suite inside .ci/keyring-session.
func needKeyring(t *testing.T) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		fail("no D-Bus session (DBUS_SESSION_BUS_ADDRESS unset): run the tests inside .ci/keyring-session")
		return
	}
	k := credential.Keyring{Timeout: 3 * time.Second}
	probe := "tokenctl-test-probe-" + t.Name()
	if err := k.Set(probe, "probe"); err != nil {
		fail("the Secret Service is not usable: %v", err)
		return
	}
	_ = k.Delete(probe)
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			// Test tokens are secrets too: never print one.
			t.Errorf("%s lacks %q:\n%s", what, hideTokens(w), hideTokens(got))
		}
	}
}

var tokenRE = regexp.MustCompile(`tkn_[0-9A-Za-z]{30,}`)

func hideTokens(s string) string { return tokenRE.ReplaceAllString(s, "tkn_[redacted]") }

func TestLoginStatusTokenLogoutWithRealKeyring(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t)
	e := newTestEnv(t)
	t.Cleanup(func() { _ = credential.Keyring{}.Delete("alice@" + srv.URL) })

	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "--username", "alice", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "login stderr", r.stderr, "Logged in to "+srv.URL+" as alice", "OS keyring")
	if r.stdout != "" {
		t.Errorf("login printed on stdout: %q", r.stdout)
	}

	stored, err := credential.Keyring{}.Get("alice@" + srv.URL)
	if err != nil {
		t.Fatalf("keyring has no entry for %s: %v", srv.URL, err)
	}
	if _, err := secret.Parse(stored); err != nil || !strings.HasPrefix(stored, "tkn_") {
		t.Fatalf("keyring holds something that is not a tkn_ token")
	}
	if hits := e.filesContaining(stored); len(hits) > 0 {
		t.Errorf("the token was written under HOME: %v", hits)
	}
	if hits := e.filesContaining("pw-alice"); len(hits) > 0 {
		t.Errorf("the password was written under HOME: %v", hits)
	}

	r = e.run("", "auth", "status")
	if r.code != 0 {
		t.Fatalf("status exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "status", r.stdout, srv.URL, "alice", "OS keyring", "tokenctl@", " UTC (in 90d)")

	r = e.run("", "auth", "token")
	if r.code != 0 || r.stdout != stored+"\n" {
		t.Errorf("auth token: exit %d, printed the stored token: %v", r.code, r.stdout == stored+"\n")
	}

	r = e.run("", "auth", "logout")
	if r.code != 0 {
		t.Fatalf("logout exit %d: %s", r.code, hideTokens(r.stderr))
	}
	if _, err := (credential.Keyring{}).Get("alice@" + srv.URL); err != credential.ErrNotFound {
		t.Errorf("keyring entry survived logout: %v", err)
	}
	r = e.run("", "auth", "status")
	if r.code != 4 {
		t.Errorf("status after logout exit %d, want 4", r.code)
	}
	mustContain(t, "status after logout", r.stderr, "not logged in", "tokenctl auth login --host "+srv.URL)
}

func TestRefreshReplacesKeyringSecret(t *testing.T) {
	needKeyring(t)
	srv := newAPIServer(t)
	e := newTestEnv(t)
	t.Cleanup(func() { _ = credential.Keyring{}.Delete("alice@" + srv.URL) })
	if r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin"); r.code != 0 {
		t.Fatalf("login: %s", hideTokens(r.stderr))
	}
	old, _ := credential.Keyring{}.Get("alice@" + srv.URL)
	r := e.run("", "auth", "refresh")
	if r.code != 0 {
		t.Fatalf("refresh exit %d: %s", r.code, hideTokens(r.stderr))
	}
	if r.stdout != "" {
		t.Errorf("refresh of a stored credential printed on stdout")
	}
	now, _ := credential.Keyring{}.Get("alice@" + srv.URL)
	if now == old || now == "" {
		t.Fatal("keyring still holds the old secret")
	}
	if r := e.run("", "auth", "status"); r.code != 0 {
		t.Errorf("status with the refreshed secret exit %d: %s", r.code, hideTokens(r.stderr))
	}
	if srv.tokenCount(t) != 1 {
		t.Errorf("server holds %d tokens, want 1", srv.tokenCount(t))
	}
}

func TestLoginRefusesBadInputBeforeSending(t *testing.T) {
	srv := newAPIServer(t)
	mistyped := []byte(srv.addToken(t, time.Hour))
	mistyped[10] ^= 1 // one wrong character: the checksum no longer matches
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"mistyped token fails the local checksum", string(mistyped) + "\n", []string{"--with-token"}, 4, "not a valid token"},
		{"empty stdin for --with-token", "", []string{"--with-token"}, 2, "no token on stdin"},
		{"empty stdin for --password-stdin", "", []string{"-u", "alice", "--password-stdin"}, 2, "no password on stdin"},
		{"--with-token with --username", "x\n", []string{"--with-token", "-u", "alice"}, 2, "cannot be used together"},
		{"--password-stdin without --username", "pw\n", []string{"--password-stdin"}, 2, "needs --username"},
		{"no terminal and no flags", "", nil, 2, "not a terminal"},
		{"username but no terminal for the prompt", "", []string{"-u", "alice"}, 2, "--password-stdin"},
		{"bad --expires-in", "pw\n", []string{"-u", "alice", "--password-stdin", "--expires-in", "soon"}, 2, "--expires-in"},
		{"a password flag does not exist", "", []string{"--password", "pw"}, 2, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.requests.Load()
			e := newTestEnv(t)
			r := e.run(tt.stdin, append([]string{"auth", "login", "--host", srv.URL}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d (%s)", r.code, tt.wantCode, hideTokens(r.stderr))
			}
			mustContain(t, "stderr", r.stderr, tt.wantErr)
			if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("error is not one line: %q", hideTokens(r.stderr))
			}
			if n := srv.requests.Load() - before; n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
}

func TestPlainHTTPToRemoteHostIsRefused(t *testing.T) {
	e := newTestEnv(t)
	for _, args := range [][]string{
		{"auth", "login", "--host", "http://tokens.example.com", "--with-token"},
		{"auth", "status", "--host", "http://localhost.example.com:8080"},
	} {
		r := e.run("tkn_x\n", args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
		mustContain(t, "stderr", r.stderr, "refusing plain http")
	}
}

func TestLoginWrongPasswordExits4(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	r := e.run("wrong\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 4 {
		t.Errorf("exit %d, want 4", r.code)
	}
	mustContain(t, "stderr", r.stderr, "wrong username or password")
	if hits := e.filesContaining("wrong"); len(hits) > 0 {
		t.Errorf("password written to %v", hits)
	}
}

func TestInsecureStorageWritesPrivateFile(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("login exit %d: %s", r.code, hideTokens(r.stderr))
	}
	warn := strings.Index(r.stderr, "warning: storing the credential")
	done := strings.Index(r.stderr, "Logged in")
	if warn < 0 || done < warn {
		t.Errorf("no warning before the write:\n%s", hideTokens(r.stderr))
	}
	path := filepath.Join(e.configDir(), "credentials.yaml")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(e.configDir())
	if di.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v, want 0700", di.Mode().Perm())
	}
	r = e.run("", "auth", "status")
	if r.code != 0 {
		t.Fatalf("status exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "status", r.stdout, "plain file, not encrypted", path)

	// The host was remembered in the profile, so no --host is needed.
	cfg, _ := os.ReadFile(filepath.Join(e.configDir(), "config.yaml"))
	mustContain(t, "config.yaml", string(cfg), srv.URL)

	// refresh keeps the secret where it lived.
	old, _ := credential.FileStore{Path: path}.Get("alice@" + srv.URL)
	if r := e.run("", "auth", "refresh"); r.code != 0 {
		t.Fatalf("refresh exit %d: %s", r.code, hideTokens(r.stderr))
	}
	now, err := credential.FileStore{Path: path}.Get("alice@" + srv.URL)
	if err != nil || now == old {
		t.Errorf("file still holds the old secret (err %v)", err)
	}

	if r := e.run("", "auth", "logout", "--revoke"); r.code != 0 {
		t.Fatalf("logout exit %d: %s", r.code, hideTokens(r.stderr))
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("credentials file survived logout")
	}
	if srv.tokenCount(t) != 0 {
		t.Errorf("--revoke left %d tokens on the server", srv.tokenCount(t))
	}
}

func TestEnvironmentToken(t *testing.T) {
	srv := newAPIServer(t)
	good := srv.addToken(t, 48*time.Hour)
	typo := []byte(good)
	typo[10] ^= 1 // one wrong character: the checksum no longer matches
	const invalid = "TOKENCTL_TOKEN is not a valid token (mistyped or truncated?)"
	tests := []struct {
		name     string
		token    string
		args     []string
		vars     map[string]string
		wantCode int
		stdout   []string
		stderr   []string
		offline  bool // nothing may reach the server
	}{
		{name: "surrounding whitespace is trimmed", token: " " + good + "\n", args: []string{"auth", "status"}, wantCode: 0, stdout: []string{"alice"}},
		{name: "a mistyped TOKENCTL_TOKEN is refused before sending", token: string(typo), args: []string{"token", "list"}, wantCode: 4, stderr: []string{invalid}, offline: true},
		{name: "a pasted Bearer header is refused before sending", token: "Bearer " + good, args: []string{"auth", "status"}, wantCode: 4, stderr: []string{invalid}, offline: true},
		{name: "a truncated TOKENCTL_TOKEN is refused before sending", token: good[:len(good)-3], args: []string{"auth", "token"}, wantCode: 4, stderr: []string{invalid}, offline: true},
		{name: "status works with only TOKENCTL_TOKEN", token: good, args: []string{"auth", "status"}, wantCode: 0,
			stdout: []string{"alice", "TOKENCTL_TOKEN environment variable", " UTC (in 2d)"}},
		{name: "a well-formed but unknown TOKENCTL_TOKEN exits 4", token: otherServerToken(t), args: []string{"auth", "status"}, wantCode: 4,
			stderr: []string{"rejected", "TOKENCTL_TOKEN"}},
		{name: "auth token prints it", token: good, args: []string{"auth", "token"}, wantCode: 0, stdout: []string{good}},
		{name: "auth token masks it for GitHub Actions", token: good, args: []string{"auth", "token"}, vars: map[string]string{"GITHUB_ACTIONS": "true"},
			wantCode: 0, stdout: []string{good}, stderr: []string{"::add-mask::" + good}},
		{name: "fail-within trips when expiry is near", token: good, args: []string{"auth", "status", "--fail-within", "7d"}, wantCode: 5,
			stderr: []string{"expires", "within 7d", "tokenctl auth refresh"}},
		{name: "fail-within passes when expiry is far", token: good, args: []string{"auth", "status", "--fail-within", "1d"}, wantCode: 0},
		{name: "logout refuses to touch the environment", token: good, args: []string{"auth", "logout"}, wantCode: 1, stderr: []string{"unset it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.vars["TOKENCTL_TOKEN"] = tt.token
			e.vars["TOKENCTL_HOST"] = srv.URL
			for k, v := range tt.vars {
				e.vars[k] = v
			}
			before := srv.requests.Load()
			r := e.run("", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.wantCode, hideTokens(r.stderr))
			}
			mustContain(t, "stdout", r.stdout, tt.stdout...)
			mustContain(t, "stderr", r.stderr, tt.stderr...)
			if n := srv.requests.Load() - before; tt.offline && n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
			if tt.offline && (strings.Contains(r.stderr, good[8:]) || strings.Contains(r.stderr, string(typo[8:]))) {
				t.Error("stderr quotes the token")
			}
		})
	}
}

// otherServerToken is a well-formed token no server issued.
func otherServerToken(t *testing.T) string {
	tok, err := secret.Generate("tkn_")
	if err != nil {
		t.Fatal(err)
	}
	return tok.String()
}

// --fail-within tells "expires within" (5) from "could not check" (1).
func TestFailWithinCouldNotCheckIsNotExpiring(t *testing.T) {
	srv := newAPIServer(t)
	good := srv.addToken(t, 48*time.Hour)
	srv.Close()
	e := newTestEnv(t)
	e.vars["TOKENCTL_TOKEN"] = good
	e.vars["TOKENCTL_HOST"] = srv.URL
	r := e.run("", "auth", "status", "--fail-within", "7d")
	if r.code != 1 {
		t.Errorf("unreachable server: exit %d, want 1 (stderr %q)", r.code, hideTokens(r.stderr))
	}
}

func TestRefreshWithEnvironmentPrintsNewSecret(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	old := srv.addToken(t, 48*time.Hour)
	e.vars["TOKENCTL_TOKEN"] = old
	e.vars["TOKENCTL_HOST"] = srv.URL
	e.vars["GITHUB_ACTIONS"] = "true"
	r := e.run("", "auth", "refresh")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, hideTokens(r.stderr))
	}
	newSecret := strings.TrimSpace(r.stdout)
	if _, err := secret.Parse(newSecret); err != nil || newSecret == old {
		t.Fatal("stdout is not a new token")
	}
	mustContain(t, "stderr", r.stderr, "::add-mask::"+newSecret, "update TOKENCTL_TOKEN")
	e.vars["TOKENCTL_TOKEN"] = old
	if r := e.run("", "auth", "status"); r.code != 4 {
		t.Errorf("the old secret still works (status exit %d)", r.code)
	}
}

func TestNoCredentialSaysHowToLogIn(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	for _, args := range [][]string{{"auth", "status", "--host", srv.URL}, {"auth", "token", "--host", srv.URL}, {"auth", "status"}} {
		r := e.run("", args...)
		if r.code != 4 {
			t.Errorf("%v: exit %d, want 4", args, r.code)
		}
		mustContain(t, "stderr", r.stderr, "tokenctl auth login --host")
	}
}

func TestLoginPromptsOnATerminal(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	ios, in, _, errOut := iostreams.Test()
	ios.SetStdinTTY(true)
	ios.SetStderrTTY(true)
	in.WriteString("alice\n")
	prompted := false
	ios.ReadPassword = func() (string, error) { prompted = true; return "pw-alice", nil }
	code := root.Run(context.Background(), []string{"auth", "login", "--host", srv.URL, "--insecure-storage"}, ios, func(k string) string { return e.vars[k] })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !prompted {
		t.Error("the password was not read from the no-echo prompt")
	}
	mustContain(t, "stderr", errOut.String(), "Username: ", "Password: ", "as alice")
}

func TestDebugTraceRedactsCredential(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	tok := srv.addToken(t, time.Hour)
	e.vars["TOKENCTL_TOKEN"] = tok
	r := e.run("", "auth", "status", "--host", srv.URL, "--debug")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "trace", r.stderr, "> GET "+srv.URL+"/v1/user", "Authorization: Bearer [redacted]", "< 200 OK")
	if strings.Contains(r.stderr, tok) {
		t.Error("the debug trace contains the token")
	}
	if r := e.run("", "auth", "status", "--host", srv.URL); strings.Contains(r.stderr, "> GET") {
		t.Error("trace printed without --debug")
	}
}

func TestStatusJSON(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	e.vars["TOKENCTL_TOKEN"] = srv.addToken(t, 72*time.Hour)
	e.vars["TOKENCTL_HOST"] = srv.URL
	r := e.run("", "auth", "status", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, hideTokens(r.stderr))
	}
	var doc auth.StatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	// A moment under 72h is 3 days left, as "in 3d" beside it says.
	if doc.Host != srv.URL || doc.Username != "alice" || doc.Source != "environment" || doc.Token == nil || doc.Token.DaysLeft != 3 || doc.Token.Name != "seeded" {
		t.Errorf("status JSON = %+v (token %+v)", doc, doc.Token)
	}
	if r := e.run("", "auth", "status", "-o", "yaml"); r.code != 2 {
		t.Errorf("-o yaml: exit %d, want 2", r.code)
	}
}

func TestRefreshThatCannotStoreSaysHowToRecover(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	if r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage"); r.code != 0 {
		t.Fatalf("login: %s", hideTokens(r.stderr))
	}
	ios, _, out, _ := iostreams.Test()
	f := factory.New(ios, func(k string) string { return e.vars[k] }, &factory.Globals{})
	f.SaveCredential = func(*cmdutil.Credential, string) error { return errors.New("disk full") }
	cmd := auth.NewCmdRefresh(f, nil)
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if err == nil {
		t.Fatal("refresh succeeded without storing the new secret")
	}
	mustContain(t, "error", err.Error(), "could not store the new secret (disk full)", "old secret no longer works", "tokenctl auth login --host "+srv.URL, "rotated token 01")
	if out.Len() != 0 {
		t.Error("the new secret was printed")
	}
}

func TestLoginThatCannotStoreLeavesNoTokenBehind(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	// A directory where the credentials file belongs: storing fails for real.
	if err := os.MkdirAll(filepath.Join(e.configDir(), "credentials.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code == 0 || !strings.Contains(r.stderr, "store credential") {
		t.Fatalf("exit %d, stderr %q: want the storage failure", r.code, hideTokens(r.stderr))
	}
	if n := srv.tokenCount(t); n != 0 {
		t.Errorf("%d login tokens left on the server", n)
	}
}

func TestWithTokenOnATerminalReadsWithoutEcho(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	tok := srv.addToken(t, time.Hour)
	ios, _, _, errOut := iostreams.Test()
	ios.SetStdinTTY(true)
	ios.SetStderrTTY(true)
	ios.ReadPassword = func() (string, error) { return tok + "\n", nil }
	code := root.Run(context.Background(), []string{"auth", "login", "--host", srv.URL, "--with-token", "--insecure-storage"}, ios, func(k string) string { return e.vars[k] })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, hideTokens(errOut.String()))
	}
	mustContain(t, "stderr", errOut.String(), "Paste your token: ", "as alice")
	if strings.Contains(errOut.String(), tok) {
		t.Error("the token was echoed")
	}
}

func TestLoginToAnotherHostThanTheProfileSaysSo(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	if r := e.run("", "config", "set", "host", "https://tokens.example.com"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "stderr", r.stderr, `note: profile "default" uses https://tokens.example.com; pass --host `+srv.URL)
	if r := e.run("", "config", "get", "host"); r.stdout != "https://tokens.example.com\n" {
		t.Errorf("login changed the profile's host to %q", r.stdout)
	}
}

// Ctrl-C at any of login's prompts exits 130 and sends nothing.
func TestCtrlCAtLoginPromptsExits130(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	for _, flag := range []string{"--with-token", "--username=alice"} {
		t.Run(flag, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			ios.SetStdinTTY(true)
			ios.SetStderrTTY(true)
			// The no-echo read reports the ^C, as the terminal read does.
			ios.ReadPassword = func() (string, error) { return "", iostreams.ErrInterrupted }
			code := root.Run(context.Background(), []string{"auth", "login", "--host", srv.URL, "--insecure-storage", flag}, ios, func(k string) string { return e.vars[k] })
			if code != 130 || !strings.HasSuffix(errOut.String(), "tokenctl: interrupted\n") {
				t.Errorf("exit %d, stderr %q; want 130 and \"interrupted\"", code, errOut)
			}
		})
	}
	// The Username prompt, blocked on a terminal that sends nothing, ends
	// as soon as the command is interrupted (the pty test types the real
	// ^C).
	t.Run("Username", func(t *testing.T) {
		ios, _, _, _ := iostreams.Test()
		ios.SetStdinTTY(true)
		ios.SetStderrTTY(true)
		pr, pw := io.Pipe()
		defer pw.Close()
		ios.In = pr
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- root.Run(ctx, []string{"auth", "login", "--host", srv.URL, "--insecure-storage"}, ios, func(k string) string { return e.vars[k] })
		}()
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case code := <-done:
			if code != 130 {
				t.Errorf("exit %d, want 130", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the Username prompt is still waiting 5s after the interrupt")
		}
	})
	if n := srv.tokenCount(t); n != 0 {
		t.Errorf("%d tokens minted after ^C", n)
	}
}

// login and refresh say when the token expires the way every other
// command does (timespec.Stamp): date, time, zone and how far off.
func TestLoginAndRefreshShowTheExpiryLikeEverythingElse(t *testing.T) {
	srv := newAPIServer(t)
	e := newTestEnv(t)
	stamp := `expires 20\d\d-\d\d-\d\d \d\d:\d\d UTC \(in 90d\)`
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "-u", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 0 || !regexp.MustCompile(`with token tokenctl@\S+, `+stamp+`; stored in`).MatchString(r.stderr) {
		t.Fatalf("login: exit %d, stderr %q", r.code, hideTokens(r.stderr))
	}
	r = e.run("", "auth", "refresh", "--host", srv.URL)
	if r.code != 0 || !regexp.MustCompile(`now `+stamp+`; stored in`).MatchString(r.stderr) {
		t.Fatalf("refresh: exit %d, stderr %q", r.code, hideTokens(r.stderr))
	}
}

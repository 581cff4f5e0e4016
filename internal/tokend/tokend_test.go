package tokend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/exitcode"
	"github.com/tokenctl/tokenctl/internal/store"
)

// run executes tokend in-process and returns stdout, stderr and the error.
func run(t *testing.T, stdin string, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := Run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func isUsage(err error) bool {
	var ue *exitcode.UsageError
	return errors.As(err, &ue)
}

func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "users.db")
	if _, _, err := run(t, "alice-pw\n", nil, "user", "add", "alice", "--database", db); err != nil {
		t.Fatalf("user add alice: %v", err)
	}
	if _, _, err := run(t, "bob-pw", nil, "user", "add", "bob", "--database", "sqlite://"+db); err != nil {
		t.Fatalf("user add bob without a trailing newline: %v", err)
	}
	out, _, err := run(t, "", map[string]string{"TOKEND_DATABASE": db}, "user", "list")
	if err != nil || out != "alice\nbob\n" {
		t.Fatalf("user list = %q, %v; want alice and bob, one per line", out, err)
	}
	_, _, err = run(t, "other\n", nil, "user", "add", "alice", "--database", db)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate user: %v", err)
	}
	if _, _, err := run(t, "", nil, "user", "delete", "alice", "--database", db); err != nil {
		t.Fatalf("user delete: %v", err)
	}
	_, _, err = run(t, "", nil, "user", "delete", "alice", "--database", db)
	if err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("deleting a missing user: %v", err)
	}
	out, _, _ = run(t, "", nil, "user", "list", "--database", db)
	if out != "bob\n" {
		t.Fatalf("after delete, user list = %q", out)
	}
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("alice-pw")) || bytes.Contains(raw, []byte("bob-pw")) {
		t.Fatal("the database holds a plain-text password")
	}
}

func TestBadCommandLines(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	tests := []struct {
		name   string
		stdin  string
		args   []string
		usage  bool
		errHas string
	}{
		{"empty password", "\n", []string{"user", "add", "carol", "--database", db}, true, "empty password"},
		{"no password at all", "", []string{"user", "add", "carol", "--database", db}, true, "empty password"},
		{"user add without a name", "pw\n", []string{"user", "add", "--database", db}, true, "expected 1 argument, got 0: tokend user add NAME"},
		{"user name with a colon", "pw\n", []string{"user", "add", "a:b", "--database", db}, true, "':'"},
		{"unreachable postgres database", "", []string{"user", "list", "--database", "postgres://127.0.0.1:1/x?connect_timeout=2"}, false, "connection refused"},
		{"unknown database scheme", "", []string{"user", "list", "--database", "mysql://x"}, true, "not supported"},
		{"tls cert without key", "", []string{"serve", "--database", db, "--tls-cert", "c.pem"}, true, "--tls-key"},
		{"bad token prefix", "", []string{"serve", "--database", db, "--token-prefix", "no-underscore"}, true, "--token-prefix"},
		{"max lifetime too short", "", []string{"serve", "--database", db, "--max-lifetime", "30s"}, true, "at least 1m"},
		{"bad log format", "", []string{"serve", "--database", db, "--log-format", "xml"}, true, "text or json"},
		{"audit retention too short", "", []string{"serve", "--database", db, "--audit-retention", "10m"}, true, "--audit-retention must be at least 1h"},
		{"console idle timeout too short", "", []string{"serve", "--database", db, "--console-idle-timeout", "10s"}, true, "--console-idle-timeout and --console-session-lifetime must be at least 1m"},
		{"console session lifetime zero", "", []string{"serve", "--database", db, "--console-session-lifetime", "0"}, true, "--console-session-lifetime must be at least 1m"},
		{"device poll interval zero", "", []string{"serve", "--database", db, "--device-poll-interval", "0"}, true, "--device-poll-interval must be whole seconds from 1s to 30s"},
		{"device poll interval an hour", "", []string{"serve", "--database", db, "--device-poll-interval", "1h"}, true, "--device-poll-interval: must be whole seconds from 1s to 30s"},
		{"device poll interval a fraction", "", []string{"serve", "--database", db, "--device-poll-interval", "1500ms"}, true, "--device-poll-interval: must be whole seconds"},
		{"device starts zero", "", []string{"serve", "--database", db, "--device-starts-per-minute", "0"}, true, "--device-starts-per-minute must be at least 1"},
		{"device starts negative", "", []string{"serve", "--database", db, "--device-starts-per-minute", "-5"}, true, "--device-starts-per-minute must be at least 1"},
		{"device starts not a number", "", []string{"serve", "--database", db, "--device-starts-per-minute", "lots"}, true, `invalid argument "lots" for "--device-starts-per-minute"`},
		{"max pending device codes zero", "", []string{"serve", "--database", db, "--max-pending-device-codes", "0"}, true, "--max-pending-device-codes must be at least 1"},
		{"max pending device codes negative", "", []string{"serve", "--database", db, "--max-pending-device-codes", "-1"}, true, "--max-pending-device-codes must be at least 1"},
		{"max pending device codes not a number", "", []string{"serve", "--database", db, "--max-pending-device-codes", "10k"}, true, `invalid argument "10k" for "--max-pending-device-codes"`},
		{"pprof on the network", "", []string{"serve", "--database", db, "--pprof-addr", "0.0.0.0:6060"}, true, "loopback"},
		{"pprof without a port", "", []string{"serve", "--database", db, "--pprof-addr", "127.0.0.1"}, true, "--pprof-addr must be host:port"},
		{"github keys url not a URL", "", []string{"serve", "--database", db, "--github-keys-url", "api.github.com/keys"}, true, "--github-keys-url must be an http(s) URL"},
		{"unknown flag", "", []string{"serve", "--nope"}, true, "unknown flag"},
		{"unknown command", "", []string{"srve"}, true, "unknown command"},
		{"serve with arguments", "", []string{"serve", "extra"}, true, `unknown command "extra" for "tokend serve"`},
		{"mistyped command suggests", "", []string{"srve"}, true, "did you mean serve?"},
		{"mistyped subcommand suggests", "", []string{"user", "lst"}, true, "did you mean list?"},
		{"missing database folder", "", []string{"user", "list", "--database", "/nonexistent/dir/x.db"}, false, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.stdin, nil, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if isUsage(err) != tt.usage {
				t.Errorf("usage error = %v, want %v (%v)", isUsage(err), tt.usage, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line mentioning %q", err, tt.errHas)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, _, err := run(t, "", nil, "--version")
	if err != nil || !strings.HasPrefix(out, "tokend ") {
		t.Fatalf("--version = %q, %v", out, err)
	}
}

// startServe runs "tokend serve" in-process and returns its base URL and a
// function that stops it and returns Run's error.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "url")
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile}, args...),
			func(string) string { return "" }, strings.NewReader(""), &bytes.Buffer{}, stderr)
	}()
	url := waitForFile(t, addrFile, done)
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatal("serve did not stop within a minute of cancellation")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return url, stderr, stop
}

func waitForFile(t *testing.T, path string, done <-chan error) string {
	t.Helper()
	for range 600 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited before listening: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

// newDB creates a database the way the docs say: with its first user.
func newDB(t *testing.T, path string) string {
	t.Helper()
	if _, _, err := run(t, "pw\n", nil, "user", "add", "admin", "--database", path); err != nil {
		t.Fatalf("tokend user add: %v", err)
	}
	return path
}

// A deleted database file or a typo in --database must not start a server
// on a new empty database: every user and token would be gone unnoticed.
func TestServeRefusesAMissingDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gone.db")
	_, _, err := run(t, "", nil, "serve", "--addr", "127.0.0.1:0", "--database", db)
	if err == nil {
		t.Fatal("serve started on a database that does not exist")
	}
	if msg := err.Error(); !strings.Contains(msg, db) || !strings.Contains(msg, "tokend user add") || strings.Contains(msg, "\n") {
		t.Errorf("error %q should name %s and how to create it, on one line", msg, db)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("serve created %s anyway (%v)", db, err)
	}
}

func TestServeDefaultLifetime(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "life.db"))
	_, _, err := run(t, "", nil, "serve", "--addr", "127.0.0.1:0", "--database", db, "--max-lifetime", "24h", "--default-lifetime", "48h")
	var ue *exitcode.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--default-lifetime") {
		t.Fatalf("--default-lifetime over --max-lifetime: %v, want a usage error naming the flag", err)
	}
	url, _, stop := startServe(t, "--database", db, "--default-lifetime", "2h")
	defer stop()
	req, _ := http.NewRequest("POST", url+"/v1/tokens", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	if got := tok.ExpiresAt.Sub(tok.CreatedAt); got != 2*time.Hour {
		t.Errorf("a create without a lifetime lives %s, want --default-lifetime 2h", got)
	}
}

func TestServeInProcessAndStop(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "s.db"))
	url, stderr, stop := startServe(t, "--database", db, "--log-format", "json")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("addr-file holds %q", url)
	}
	res, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/readyz: %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop returned %v", err)
	}
	if !strings.Contains(stderr.String(), `"msg":"tokend listening"`) || !strings.Contains(stderr.String(), url) {
		t.Errorf("start-up log does not name the URL:\n%s", stderr)
	}
}

func TestServeDevPrintsLoginLine(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	url, stderr, stop := startServe(t, "--dev")
	defer stop()
	if _, err := os.Stat(filepath.Join(dir, devDir, "tokend.db")); err != nil {
		t.Fatalf("dev database not under ./%s: %v", devDir, err)
	}
	var line string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "tokenctl auth login") {
			line = strings.TrimSpace(l)
		}
	}
	want := "| tokenctl auth login --host " + url + " --username dev --password-stdin"
	if !strings.HasSuffix(line, want) || !strings.HasPrefix(line, "printf '%s\\n' '") {
		t.Fatalf("login line %q does not end with %q", line, want)
	}
	pw := strings.TrimSuffix(strings.TrimPrefix(line, "printf '%s\\n' '"), "' "+want)
	req, _ := http.NewRequest("GET", url+"/v1/user", nil)
	req.SetBasicAuth("dev", pw)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the printed dev password does not log in: %d", res.StatusCode)
	}
}

// syncBuffer collects the server's log while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDeletingAUserKillsTheirTokensAtOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "del.db")
	if _, _, err := run(t, "pw\n", nil, "user", "add", "carol", "--database", db); err != nil {
		t.Fatal(err)
	}
	url, _, stop := startServe(t, "--database", db)
	defer stop()
	req, _ := http.NewRequest("POST", url+"/v1/tokens", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("carol", "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ct struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(res.Body).Decode(&ct)
	res.Body.Close()
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	if got := authStatus(t, url, ct.Token); got != 200 {
		t.Fatalf("token before user delete: %d", got)
	}
	// A second process (here: a second Run) deletes the user while the
	// server runs on the same file.
	if _, _, err := run(t, "", nil, "user", "delete", "carol", "--database", db); err != nil {
		t.Fatal(err)
	}
	if got := authStatus(t, url, ct.Token); got != 401 {
		t.Fatalf("token after its user was deleted: %d, want 401", got)
	}
}

// A database that cannot be opened is named once, in one line.
func TestUnopenableDatabaseIsNamedOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "missing", "tokend.db")
	_, _, err := run(t, "", nil, "user", "list", "--database", db)
	if err == nil {
		t.Fatal("user list on a database in a missing folder succeeded")
	}
	if msg := err.Error(); strings.Count(msg, db) != 1 || strings.Contains(msg, "\n") {
		t.Errorf("error %q should name %s once, on one line", msg, db)
	}
}

// --pprof-addr serves the profiler on its own loopback listener; the API's
// listener does not have it.
func TestPprofListener(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "p.db"))
	base, logs, stop := startServe(t, "--database", db, "--pprof-addr", "127.0.0.1:0")
	defer stop()
	m := regexp.MustCompile(`msg="profiler listening" url=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no profiler URL in the log:\n%s", logs.String())
	}
	res, err := http.Get(m[1] + "cmdline")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("profiler: %v %v", res, err)
	}
	res.Body.Close()
	if res, err = http.Get(base + "/debug/pprof/cmdline"); err != nil || res.StatusCode != 404 {
		t.Fatalf("the API listener serves the profiler: %v %v", res, err)
	}
	res.Body.Close()
}

// TestUserRolesAndServiceAccounts: --admin, --service (no password read)
// and set-role, as the store then holds them.
func TestUserRolesAndServiceAccounts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokend.db")
	if _, errOut, err := run(t, "root-pw\n", nil, "user", "add", "root", "--admin", "--database", db); err != nil || !strings.Contains(errOut, "Added admin user root") {
		t.Fatalf("add --admin = %q, %v", errOut, err)
	}
	// No stdin at all: a service account asks for no password.
	if _, errOut, err := run(t, "", nil, "user", "add", "jenkins", "--service", "--database", db); err != nil || !strings.Contains(errOut, "Added service account jenkins") {
		t.Fatalf("add --service = %q, %v", errOut, err)
	}
	if _, _, err := run(t, "bob-pw\n", nil, "user", "add", "bob", "--database", db); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := run(t, "", nil, "user", "set-role", "bob", "admin", "--database", db); err != nil || !strings.Contains(errOut, "bob is now an admin") {
		t.Fatalf("set-role = %q, %v", errOut, err)
	}
	if _, _, err := run(t, "", nil, "user", "set-role", "bob", "root", "--database", db); err == nil {
		t.Fatal("set-role root succeeded")
	}
	if _, _, err := run(t, "", nil, "user", "set-role", "ghost", "admin", "--database", db); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("set-role on an unknown user: %v", err)
	}
	st, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]string{"root": "admin/person", "jenkins": "member/service", "bob": "admin/person"}
	users, err := st.ListUsers(context.Background())
	if err != nil || len(users) != 3 {
		t.Fatalf("users = %+v, %v", users, err)
	}
	for _, u := range users {
		if got := u.Role + "/" + u.Kind; got != want[u.Username] {
			t.Errorf("%s = %s, want %s", u.Username, got, want[u.Username])
		}
		if u.Username == "jenkins" && u.PasswordHash != "" {
			t.Error("the service account has a password hash")
		}
	}
	evs, err := st.ListEvents(context.Background(), store.EventListOptions{UserID: users[0].ID, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].Type != store.EventUserRoleChanged || evs[0].ActorKind != store.ActorOperator {
		t.Fatalf("bob's trail = %+v, %v; want the role change by the operator", evs, err)
	}
}

// TestUserDisableOnTheHost: the break-glass offboarding without an admin
// token, recorded in the user's trail as the operator's.
func TestUserDisableOnTheHost(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokend.db")
	if _, _, err := run(t, "bob-pw\n", nil, "user", "add", "bob", "--database", db); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := run(t, "", nil, "user", "disable", "bob", "--database", db); err != nil || !strings.Contains(errOut, "Disabled bob") {
		t.Fatalf("disable = %q, %v", errOut, err)
	}
	check := func(want bool) {
		t.Helper()
		st, err := openStore(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		u, err := st.UserByName(context.Background(), "bob")
		if err != nil || u.Disabled != want {
			t.Fatalf("bob disabled = %v, %v; want %v", u.Disabled, err, want)
		}
	}
	check(true)
	if _, errOut, err := run(t, "", nil, "user", "enable", "bob", "--database", db); err != nil || !strings.Contains(errOut, "Enabled bob") {
		t.Fatalf("enable = %q, %v", errOut, err)
	}
	check(false)
	if _, _, err := run(t, "", nil, "user", "disable", "ghost", "--database", db); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("disable ghost: %v", err)
	}
}

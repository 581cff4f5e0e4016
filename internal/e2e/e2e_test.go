// Package e2e runs the real tokenctl against a real tokend on a temp SQLite
// file, through testscript: every testdata/*.txtar file is one scenario, as
// a user would type it.
//
// The condition [keyring] holds when the Secret Service is usable; scripts
// that need it start with `[!keyring] skip`, and with CI=true a missing
// Secret Service fails them instead.
//
// Custom commands available to scripts:
//
//	start-tokend [--flag=v...] [user...]
//	                         start tokend on 127.0.0.1:0 with $WORK/tokend.db,
//	                         create each user with password pw-<name>, set $URL;
//	                         stopped at the end of the script. --flag=v goes to
//	                         `tokend serve`; --tls serves https with a
//	                         certificate from a fresh private CA ($WORK/ca.pem)
//	stop-tokend              stop it now (for "server unreachable" cases)
//	expect-exit N cmd args   run cmd and require exit status N exactly
//	keyring-has URL          succeed when the keyring holds a valid token for URL
//	keyring-matches URL FILE succeed when the keyring holds FILE's token for URL
//	is-token FILE            succeed when FILE holds one valid token and a newline
//	file-mode PATH MODE      require PATH's permission bits (octal)
//	no-file-contains DIR F   require that no file under DIR contains F's
//	                         content (trimmed), without printing it
//	hang-dbus                set DBUS_SESSION_BUS_ADDRESS to a socket that never answers
//
// Secrets must stay out of the test log, and testscript logs a command's
// stdout: a command that prints a secret runs as
// `exec sh -c 'tokenctl auth token >$WORK/tok'`, then `is-token $WORK/tok`.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tokenctl/tokenctl/internal/browsertest"
	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/tokend"
)

func TestMain(m *testing.M) {
	// browsertest.M stops the browser tests' Chromium when the tests end.
	testscript.Main(browsertest.M(m), map[string]func(){
		"tokenctl": func() { os.Exit(root.Main()) },
		"tokend":   func() { os.Exit(tokend.Main()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, Params(t, "testdata"))
}

// passThrough are variables the scripts inherit: the D-Bus session of
// .ci/keyring-session, so keyring scripts use the real Secret Service, and
// CI, so missing dependencies fail instead of skipping.
var passThrough = []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "CI"}

// Params is the harness, exported to other test files in this package
// (the token command scripts share it).
func Params(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			if err := os.MkdirAll(home, 0o700); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("TOKENCTL_KEYRING_TIMEOUT", "5s")
			env.Setenv("NO_COLOR", "1")
			// Race-built binaries otherwise sleep a second at every exit,
			// which multiplies across hundreds of commands.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			env.Values[serverKey{}] = &serverState{}
			env.Values[oidcKey{}] = &oidcState{}
			for _, k := range passThrough {
				if v, ok := os.LookupEnv(k); ok {
					env.Setenv(k, v)
				}
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "keyring" {
				return keyringCondition()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"start-tokend":     cmdStartTokend,
			"stop-tokend":      cmdStopTokend,
			"expect-exit":      cmdExpectExit,
			"keyring-has":      cmdKeyringHas,
			"keyring-matches":  cmdKeyringMatches,
			"is-token":         cmdIsToken,
			"file-mode":        cmdFileMode,
			"no-file-contains": cmdNoFileContains,
			"hang-dbus":        cmdHangDBus,
			"start-oidc":       cmdStartOIDC,
			"mint-oidc":        cmdMintOIDC,
		},
	}
}

// serverKey finds a script's running tokend among its testscript values.
type serverKey struct{}

type serverState struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func state(ts *testscript.TestScript) *serverState { return ts.Value(serverKey{}).(*serverState) }

func cmdStartTokend(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! start-tokend")
	}
	work := ts.Getenv("WORK")
	var users, serveFlags []string
	for _, a := range args {
		switch {
		case a == "--tls":
			cert, key := writePrivateCA(ts, work)
			serveFlags = append(serveFlags, "--tls-cert", cert, "--tls-key", key)
		case strings.HasPrefix(a, "--"):
			serveFlags = append(serveFlags, a)
		default:
			users = append(users, a)
		}
	}
	db := filepath.Join(work, "tokend.db")
	for _, u := range users {
		add := exec.Command("tokend", "user", "add", u, "--database", db)
		add.Stdin = strings.NewReader("pw-" + u + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			ts.Fatalf("tokend user add %s: %v\n%s", u, err, out)
		}
	}
	addrFile := filepath.Join(work, "tokend.addr")
	_ = os.Remove(addrFile)
	logf, err := os.Create(filepath.Join(work, "tokend.log"))
	ts.Check(err)
	cmd := exec.Command("tokend", append([]string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--database", db}, serveFlags...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	ts.Check(cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	st := state(ts)
	st.mu.Lock()
	st.cmd, st.exited = cmd, exited
	st.mu.Unlock()
	ts.Defer(func() { st.stop(); logf.Close() })

	// Readiness, not timing: wait for tokend to say where it listens.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if addr := strings.TrimSpace(string(b)); err == nil && addr != "" && probe(addr) {
			if !strings.Contains(addr, "://") {
				addr = "http://" + addr
			}
			ts.Setenv("URL", addr)
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(work, "tokend.log"))
			ts.Fatalf("tokend did not write %s within 30s; its log:\n%s", addrFile, log)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(work, "tokend.log"))
			ts.Fatalf("tokend exited early; its log:\n%s", log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func probe(addr string) bool {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stop interrupts tokend and waits for it to exit (killing it after 10s).
func (st *serverState) stop() bool {
	st.mu.Lock()
	cmd, exited := st.cmd, st.exited
	st.cmd = nil
	st.mu.Unlock()
	if cmd == nil {
		return false
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	return true
}

func cmdStopTokend(ts *testscript.TestScript, neg bool, args []string) {
	if !state(ts).stop() {
		ts.Fatalf("stop-tokend: no tokend running")
	}
}

func cmdExpectExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: expect-exit N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// keyringCondition is the [keyring] condition: true when a Secret Service
// is usable. When it is not and CI=true, it is an error, so the script
// fails instead of skipping.
func keyringCondition() (bool, error) {
	why := ""
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		why = "no D-Bus session (run inside .ci/keyring-session)"
	} else {
		k := credential.Keyring{Timeout: 5 * time.Second}
		if err := k.Set("tokenctl-e2e-probe", "probe"); err != nil {
			why = err.Error()
		} else {
			_ = k.Delete("tokenctl-e2e-probe")
		}
	}
	if why == "" {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("the Secret Service is needed and CI=true: %s", why)
	}
	return false, nil
}

func keyringGet(ts *testscript.TestScript, url string) (string, error) {
	return credential.Keyring{Timeout: 5 * time.Second}.Get(url)
}

func cmdKeyringHas(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: keyring-has URL")
	}
	s, err := keyringGet(ts, args[0])
	has := err == nil
	if has {
		if _, perr := secret.Parse(s); perr != nil {
			ts.Fatalf("keyring entry for %s is not a valid token", args[0])
		}
	} else if !errors.Is(err, credential.ErrNotFound) {
		ts.Fatalf("keyring: %v", err)
	}
	if has == neg {
		ts.Fatalf("keyring has entry for %s: %v", args[0], has)
	}
}

func cmdKeyringMatches(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: keyring-matches URL FILE")
	}
	s, err := keyringGet(ts, args[0])
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	if (strings.TrimSpace(string(b)) == s) == neg {
		ts.Fatalf("keyring entry for %s matches %s: %v", args[0], args[1], !neg)
	}
}

func cmdIsToken(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: is-token FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	s := string(b)
	_, perr := secret.Parse(strings.TrimSuffix(s, "\n"))
	ok := perr == nil && strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1
	if ok == neg {
		ts.Fatalf("%s holds exactly one valid token line: %v", args[0], ok)
	}
}

func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: file-mode PATH MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := uint64(fi.Mode().Perm()); (got == want) == neg {
		ts.Fatalf("%s has mode %o, want %s%o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// cmdHangDBus points the script's D-Bus address at a socket that accepts
// connections and never says a word: a Secret Service that hangs.
func cmdHangDBus(ts *testscript.TestScript, neg bool, args []string) {
	sock := filepath.Join(ts.Getenv("WORK"), "hang.sock")
	l, err := net.Listen("unix", sock)
	ts.Check(err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	ts.Setenv("DBUS_SESSION_BUS_ADDRESS", fmt.Sprintf("unix:path=%s", sock))
}

func cmdNoFileContains(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: no-file-contains DIR FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	needle := []byte(strings.TrimSpace(string(b)))
	if len(needle) == 0 {
		ts.Fatalf("%s is empty", args[1])
	}
	var hits []string
	_ = filepath.WalkDir(ts.MkAbs(args[0]), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, rerr := os.ReadFile(p); rerr == nil && bytes.Contains(data, needle) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	if len(hits) > 0 {
		ts.Fatalf("the content of %s was found in %v", args[1], hits)
	}
}

package root

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/cli/factory"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := Run(context.Background(), args, ios, func(k string) string { return vars[k] })
	return result{code, out.String(), errOut.String()}
}

func TestExitCodes(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"no arguments shows where to start", nil, 0, "tokenctl auth login --host URL", ""},
		{"version", []string{"version"}, 0, "tokenctl ", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown subcommand", []string{"auth", "frobnicate"}, 2, "", `unknown command "frobnicate" for "tokenctl auth"`},
		{"unknown flag", []string{"--frobnicate"}, 2, "", "unknown flag: --frobnicate"},
		{"bad flag value", []string{"auth", "status", "--timeout", "soon"}, 2, "", "invalid argument"},
		{"too many arguments", []string{"config", "get", "a", "b"}, 2, "", "expected 1 argument, got 2: tokenctl config get KEY"},
		{"--version", []string{"--version"}, 0, "tokenctl ", ""},
		{"mistyped command", []string{"tokn"}, 2, "", `unknown command "tokn" for "tokenctl"; did you mean token?`},
		{"mistyped subcommand of token", []string{"token", "lst"}, 2, "", `unknown command "lst" for "tokenctl token"; did you mean list?`},
		{"mistyped subcommand of auth", []string{"auth", "stauts"}, 2, "", "did you mean status?"},
		{"mistyped subcommand of config", []string{"config", "lsit"}, 2, "", "did you mean list or set?"},
		{"zero --timeout", []string{"config", "list", "--timeout", "0"}, 2, "", "invalid --timeout 0s"},
		{"extra argument to a leaf", []string{"version", "extra"}, 2, "", "unknown command"},
		{"group without subcommand prints help", []string{"auth"}, 0, "login", ""},
		{"not logged in", []string{"auth", "status"}, 4, "", "tokenctl auth login --host URL"},
		{"help", []string{"--help"}, 0, "Exit codes", ""},
		{"help for a command", []string{"help", "auth", "login"}, 0, "--password-stdin", ""},
		{"help for an unknown topic", []string{"help", "frobnicate"}, 2, "", `unknown help topic "frobnicate" (see ` + "`tokenctl --help`)"},
		{"help for a mistyped topic", []string{"help", "tokn"}, 2, "", `unknown help topic "tokn"; did you mean token?`},
		{"help for a mistyped subtopic", []string{"help", "token", "lst"}, 2, "", `unknown help topic "token lst"; did you mean list? (see ` + "`tokenctl token --help`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, vars, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, r.stderr)
			}
			if r.code != 0 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("error is not exactly one line: %q", r.stderr)
			}
		})
	}
}

// version, help and completion must not read the config, the keyring or
// the network: a broken config file and an unreachable D-Bus address
// change nothing for them.
func TestStartupCommandsTouchNothing(t *testing.T) {
	home := t.TempDir()
	cfgDir := filepath.Join(home, "cfg", "tokenctl")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte("profiles: [broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg"), "TOKENCTL_HOST": "http://127.0.0.1:1"}
	for _, args := range [][]string{{"version"}, {"--help"}, {"auth", "login", "--help"}, {"completion", "bash"}, {"completion", "zsh"}, {"completion", "fish"}, {"completion", "powershell"}} {
		r := run(t, vars, args...)
		if r.code != 0 || r.stdout == "" {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, r.code, len(r.stdout), r.stderr)
		}
	}
	entries, _ := os.ReadDir(cfgDir)
	if len(entries) != 1 {
		t.Errorf("config dir changed: %d entries", len(entries))
	}
	// The same broken file does stop a command that needs the config.
	if r := run(t, vars, "config", "list"); r.code == 0 || !strings.Contains(r.stderr, "not valid YAML") {
		t.Errorf("config list with a broken file: exit %d, %q", r.code, r.stderr)
	}
}

func TestEveryCommandIsDocumented(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	g := &factory.Globals{}
	cmd := NewCmdRoot(factory.New(ios, func(string) string { return "" }, g), g)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// The token group is documented by its own package's tests.
		if c.Hidden || c.Name() == "token" && c.Parent() == cmd {
			return
		}
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%q lacks Short, Long or Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd)
}

func TestRejectedCredentialIsAnAuthError(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	g := &factory.Globals{Host: "http://127.0.0.1:8080"}
	f := factory.New(ios, func(string) string { return "" }, g)
	msg, code := cmdutil.Explain(fmt.Errorf("list tokens: %w", &client.APIError{Host: "127.0.0.1:8080", Status: http.StatusUnauthorized}), f)
	if code != cmdutil.ExitAuth {
		t.Errorf("exit %d, want 4", code)
	}
	want := "credential for http://127.0.0.1:8080 was rejected (expired or revoked): run `tokenctl auth login --host http://127.0.0.1:8080`"
	if msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
	// A rejected TOKENCTL_TOKEN is named as such.
	fe := factory.New(ios, func(k string) string { return map[string]string{"TOKENCTL_TOKEN": wellFormedToken(t)}[k] }, g)
	msg, code = cmdutil.Explain(&client.APIError{Host: "127.0.0.1:8080", Status: http.StatusUnauthorized}, fe)
	if code != cmdutil.ExitAuth || !strings.Contains(msg, "the token in TOKENCTL_TOKEN was rejected") {
		t.Errorf("env credential: %q, exit %d", msg, code)
	}
	// Other API errors pass through untouched.
	nf := &client.APIError{Host: "h", Status: http.StatusNotFound}
	if msg, _ := cmdutil.Explain(nf, f); msg != nf.Error() {
		t.Errorf("404 rewritten to %q", msg)
	}
}

// `tokenctl --version` prints exactly what `tokenctl version` prints.
func TestVersionFlagMatchesVersionCommand(t *testing.T) {
	flag, cmd := run(t, nil, "--version"), run(t, nil, "version")
	if flag.code != 0 || flag.stdout != cmd.stdout || !strings.HasPrefix(flag.stdout, "tokenctl ") {
		t.Errorf("--version %q (exit %d), version %q", flag.stdout, flag.code, cmd.stdout)
	}
}

// `config use` completes the profile names in the config file.
func TestConfigUseCompletesProfiles(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home}
	if r := run(t, vars, "config", "set", "host", "https://prod.example", "--profile", "prod"); r.code != 0 {
		t.Fatalf("config set: %s", r.stderr)
	}
	if r := run(t, vars, "config", "use", "staging"); r.code != 0 {
		t.Fatalf("config use: %s", r.stderr)
	}
	r := run(t, vars, "__complete", "config", "use", "")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "prod\nstaging\n:4\n") {
		t.Errorf("completion %q (exit %d)", r.stdout, r.code)
	}
}

// A password login turned away by the failed-login limit says so at once,
// without the command's own wrapping, and exits 1.
func TestRateLimitedLoginIsSaidPlainly(t *testing.T) {
	limited := &client.SignInLimitedError{RetryAfter: 58 * time.Second, Err: &client.APIError{Host: "h", Status: http.StatusTooManyRequests}}
	ios, _, _, _ := iostreams.Test()
	g := &factory.Globals{}
	msg, code := cmdutil.Explain(fmt.Errorf("create login token: %w", limited), factory.New(ios, func(string) string { return "" }, g))
	if msg != "too many failed sign-ins from this address; try again in 58s" || code != 1 {
		t.Errorf("got %q, exit %d", msg, code)
	}
}

// A long Retry-After wait is announced on stderr before it starts.
func TestLongRetryWaitIsAnnouncedOnStderr(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"status":429,"title":"Too Many Requests"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[],"next_cursor":null}`)
	}))
	defer srv.Close()
	vars := map[string]string{"HOME": t.TempDir(), "TOKENCTL_HOST": srv.URL, "TOKENCTL_TOKEN": validToken(t)}
	r := run(t, vars, "token", "list", "-o", "json")
	want := "rate limited by " + strings.TrimPrefix(srv.URL, "http://") + "; retrying in 2s\n"
	if r.code != 0 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}

func validToken(t *testing.T) string {
	t.Helper()
	tok, err := secret.Generate("tkn_")
	if err != nil {
		t.Fatal(err)
	}
	return tok.String()
}

func TestInterruptExits130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ios, _, _, errOut := iostreams.Test()
	// A host that is never reached: the cancelled context stops the request.
	vars := map[string]string{"HOME": t.TempDir(), "TOKENCTL_TOKEN": wellFormedToken(t), "TOKENCTL_HOST": "http://127.0.0.1:9"}
	code := Run(ctx, []string{"auth", "status"}, ios, func(k string) string { return vars[k] })
	if code != 130 || errOut.String() != "tokenctl: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 130 and one line", code, errOut)
	}
}

// wellFormedToken passes the local check of TOKENCTL_TOKEN; no server
// issued it.
func wellFormedToken(t *testing.T) string {
	tok, err := secret.Generate("tkn_")
	if err != nil {
		t.Fatal(err)
	}
	return tok.String()
}

// --timeout is one deadline for all of a command's network work, every
// request, retry and Retry-After wait included (issue 10 item 10). The
// bounds are generous: they tell one budget from several, not speed.
func TestTimeoutIsOneBudgetForTheCommand(t *testing.T) {
	pageSleep := func(d time.Duration, r *http.Request) bool {
		select {
		case <-time.After(d):
			return true
		case <-r.Context().Done():
			return false
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		stderr  string
	}{
		{"busy server with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			pageSleep(400*time.Millisecond, r)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":503,"title":"Service Unavailable"}`)
		}, "--timeout 2s"},
		{"server that never answers", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, "did not answer within --timeout 2s"},
		{"three pages of 0.8s each", func(w http.ResponseWriter, r *http.Request) {
			if !pageSleep(800*time.Millisecond, r) {
				return
			}
			n := len(r.URL.Query().Get("cursor")) // "", "c", "cc", ...
			w.Header().Set("Content-Type", "application/json")
			if n >= 2 {
				fmt.Fprint(w, `{"items":[],"next_cursor":null}`)
				return
			}
			fmt.Fprintf(w, `{"items":[],"next_cursor":%q}`, strings.Repeat("c", n+1))
		}, "did not answer within --timeout 2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			vars := map[string]string{"HOME": t.TempDir(), "TOKENCTL_HOST": srv.URL, "TOKENCTL_TOKEN": validToken(t)}
			start := time.Now()
			r := run(t, vars, "--timeout", "2s", "token", "list", "-o", "json")
			took := time.Since(start)
			if r.code == 0 || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want a failure naming %q", r.code, r.stderr, tt.stderr)

			}
			if took > 4*time.Second {
				t.Errorf("--timeout 2s took %s", took)
			}
		})
	}
}

// Listings ask for the CLI's own page size (client.PageSize), not a number
// borrowed from the server.
func TestListingsAskForTheCLIsPageSize(t *testing.T) {
	var limit atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit.Store(r.URL.Query().Get("limit"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[],"next_cursor":null}`)
	}))
	defer srv.Close()
	vars := map[string]string{"HOME": t.TempDir(), "TOKENCTL_HOST": srv.URL, "TOKENCTL_TOKEN": validToken(t)}
	if r := run(t, vars, "token", "list", "-o", "json"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, want := limit.Load(), fmt.Sprint(client.PageSize); got != want {
		t.Errorf("limit=%v, want %s", got, want)
	}
}

package token

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// The test binary doubles as the child command of `token exec` and as a
// tokenctl process (for signal tests), chosen by its first argument.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "exec-child":
			os.Exit(execChild(os.Args[2:]))
		case "tokenctl-main":
			os.Exit(tokenctlMain(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// execChild is the command token exec runs in these tests.
func execChild(args []string) int {
	secret := os.Getenv(args[len(args)-1])
	switch args[0] {
	case "check": // check URL VAR: does the token in VAR authenticate?
		req, _ := http.NewRequest("GET", args[1]+"/v1/user", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 8
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 7
		}
		return 0
	case "unset": // unset NAME VAR: exit 0 when NAME is not in the environment
		if _, ok := os.LookupEnv(args[1]); ok {
			return 5
		}
		return 0
	case "exit": // exit N VAR
		n, _ := strconv.Atoi(args[1])
		return n
	case "wait": // wait DIR VAR: write our pid, then wait for DIR/go
		pidFile := filepath.Join(args[1], "pid")
		_ = os.WriteFile(pidFile+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o600)
		_ = os.Rename(pidFile+".tmp", pidFile)
		for {
			if _, err := os.Stat(filepath.Join(args[1], "go")); err == nil {
				return 0
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return 99
}

// tokenctlMain runs `token ARGS` as a process, logged in with the secret
// in TOKENCTL_TEST_TOKEN against TOKENCTL_TEST_HOST.
func tokenctlMain(args []string) int {
	f := &cmdutil.Factory{
		IOStreams: iostreams.System(),
		Client: func() (*client.Client, error) {
			return client.New(client.Options{Host: os.Getenv("TOKENCTL_TEST_HOST"), Token: os.Getenv("TOKENCTL_TEST_TOKEN")})
		},
	}
	root := &cobra.Command{Use: "tokenctl", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(NewCmdToken(f))
	root.SetArgs(append([]string{"token"}, args...))
	err := root.Execute()
	var ce *cmdutil.ExitCodeError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, cmdutil.ErrSilent) {
		fmt.Fprintln(os.Stderr, err)
	}
	return cmdutil.ExitCode(err)
}

func testBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// execTokens counts alice's tokens minted by exec.
func (e *testEnv) execTokens() int {
	n := 0
	for _, tok := range e.tokens() {
		if strings.HasPrefix(tok.Name, "exec-") {
			n++
		}
	}
	return n
}

func TestExecChildGetsAWorkingTokenThatIsDeletedAfterwards(t *testing.T) {
	e := newTestEnv(t)
	bin := testBinary(t)
	_, errOut := e.mustRun(0, "exec", "--", bin, "exec-child", "check", e.srv.URL, DefaultExecEnv)
	if errOut != "" {
		t.Errorf("stderr %q", errOut)
	}
	if n := e.execTokens(); n != 0 {
		t.Fatalf("%d exec tokens left behind", n)
	}
	// A custom variable name, without "--".
	e.mustRun(0, "exec", "--env", "MY_TOKEN", bin, "exec-child", "check", e.srv.URL, "MY_TOKEN")
}

func TestExecDoesNotPassOnTokenctlsOwnCredential(t *testing.T) {
	e := newTestEnv(t)
	t.Setenv("TOKENCTL_TOKEN", "tkn_parentcredential")
	e.mustRun(0, "exec", "--", testBinary(t), "exec-child", "unset", "TOKENCTL_TOKEN", DefaultExecEnv)
	// Under its own name, the minted token is what the child sees.
	e.mustRun(0, "exec", "--env", "TOKENCTL_TOKEN", "--", testBinary(t), "exec-child", "check", e.srv.URL, "TOKENCTL_TOKEN")
}

func TestExecExitsWithTheChildsCodeAndCleansUp(t *testing.T) {
	for _, code := range []int{0, 1, 3, 42} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			e := newTestEnv(t)
			e.mustRun(code, "exec", "--", testBinary(t), "exec-child", "exit", strconv.Itoa(code), DefaultExecEnv)
			if n := e.execTokens(); n != 0 {
				t.Fatalf("%d exec tokens left behind", n)
			}
		})
	}
}

// waitForChild waits for the "wait" child to write its pid.
func waitForChild(t *testing.T, dir string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil {
			pid, _ := strconv.Atoi(string(b))
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the child never started")
	return 0
}

func TestExecSecretIsInTheEnvironmentNeverInArgv(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		_, _, code := e.run("exec", "--name", "argv-check", "--", testBinary(t), "exec-child", "wait", dir, DefaultExecEnv)
		done <- code
	}()
	pid := waitForChild(t, dir)

	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
		requireCI(t, "cannot read /proc/PID/environ: "+err.Error())
	}
	var secret string
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if v, ok := strings.CutPrefix(string(kv), DefaultExecEnv+"="); ok {
			secret = v
		}
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	running := secret != "" && e.works(secret)
	names := e.tokenNames()
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	code := <-done

	switch {
	case !secretRE.MatchString(secret):
		t.Fatalf("child environment has no token in %s", DefaultExecEnv)
	case bytes.Contains(cmdline, []byte(secret)) || bytes.Contains(cmdline, []byte("tkn_")):
		t.Fatalf("secret in the child's argv: %q", bytes.ReplaceAll(cmdline, []byte{0}, []byte(" ")))
	case !running || !names["argv-check"]:
		t.Fatal("the token did not work while the child ran")
	case code != 0:
		t.Fatalf("exit %d", code)
	case e.works(secret) || e.tokenNames()["argv-check"]:
		t.Fatal("the token outlived the child")
	}
}

func TestExecDeletesTheTokenWhenTokenctlIsSignalled(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newTestEnv(t)
			dir := t.TempDir()
			bin := testBinary(t)
			cmd := exec.Command(bin, "tokenctl-main", "exec", "--name", "signalled", "--", bin, "exec-child", "wait", dir, DefaultExecEnv)
			cmd.Env = append(os.Environ(), "TOKENCTL_TEST_HOST="+e.srv.URL, "TOKENCTL_TEST_TOKEN="+e.cred.Token)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForChild(t, dir)
			if !e.tokenNames()["signalled"] {
				t.Fatal("no token while the child runs")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Fatalf("tokenctl ended with %v, want exit %d; stderr %q", err, 128+int(sig), stderr.String())
			}
			if e.tokenNames()["signalled"] {
				t.Fatal("the token outlived the signalled run")
			}
		})
	}
}

func TestExecReportsAFailedDelete(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		_, _, code := e.run("exec", "--name", "orphan", "--", testBinary(t), "exec-child", "wait", dir, DefaultExecEnv)
		done <- code
	}()
	waitForChild(t, dir)
	id := e.token("orphan").ID
	e.srv.Close() // the server goes away while the child runs
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	if code := <-done; code != 1 {
		t.Fatalf("exit %d, want 1 when the child succeeded but the delete failed", code)
	}
	msg := e.errOut.String()
	if !strings.Contains(msg, "could not delete token "+id) || !strings.Contains(msg, "expires at") || !strings.Contains(msg, "in 15m") {
		t.Fatalf("stderr %q", msg)
	}
	if strings.Count(msg, "\n") != 1 || secretRE.MatchString(msg) {
		t.Fatalf("stderr is not one clean line: %q", msg)
	}
}

func TestExecMasksTheSecretForGitHubActions(t *testing.T) {
	e := newTestEnv(t)
	e.environ["GITHUB_ACTIONS"] = "true"
	_, errOut := e.mustRun(0, "exec", "--", testBinary(t), "exec-child", "exit", "0", DefaultExecEnv)
	if !strings.HasPrefix(errOut, "::add-mask::tkn_") {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestExecCommandThatCannotRunExitsLikeAShell(t *testing.T) {
	dir := t.TempDir()
	notExecutable := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(notExecutable, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, command string
		code          int
	}{
		{"missing path", filepath.Join(dir, "no-such-command"), 127},
		{"not on PATH", "no-such-command-anywhere", 127},
		{"not executable", notExecutable, 126},
		{"a directory", dir, 126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			before := len(e.tokens())
			_, errOut, code := e.run("exec", "--", tc.command)
			if code != tc.code || !strings.Contains(errOut, "cannot run") || !strings.Contains(errOut, filepath.Base(tc.command)) {
				t.Fatalf("exit %d (want %d), stderr %q", code, tc.code, errOut)
			}
			if len(e.tokens()) != before {
				t.Fatal("a token was minted for a command that cannot run")
			}
		})
	}
}

func TestExecRejectsBadInputBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"--"}, "no command to run"},
		{"bad lifetime", []string{"--expires-in", "10x", "--", "true"}, "--expires-in"},
		{"zero lifetime", []string{"--expires-in", "0m", "--", "true"}, "more than zero"},
		{"bad variable name", []string{"--env", "1BAD", "--", "true"}, "invalid --env"},
		{"empty name", []string{"--name", " ", "--", "true"}, "--name must be"},
		{"variable with a dash", []string{"--env", "API-TOKEN", "--", "true"}, "invalid --env"},
		{"PATH would hide every program", []string{"--env", "PATH", "--", "true"}, "--env PATH would replace a variable"},
		{"HOME", []string{"--env", "HOME", "--", "true"}, "--env HOME would replace"},
		{"the dynamic loader's", []string{"--env", "LD_PRELOAD", "--", "true"}, "--env LD_PRELOAD would replace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			before := len(e.tokens())
			_, errOut, code := e.run(append([]string{"exec"}, tt.args...)...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if len(e.tokens()) != before {
				t.Fatal("a token was minted")
			}
		})
	}
}

func TestExecDefaultNameAndLifetime(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		_, _, code := e.run("exec", "--", testBinary(t), "exec-child", "wait", dir, DefaultExecEnv)
		done <- code
	}()
	waitForChild(t, dir)
	var name string
	var life time.Duration
	for _, tok := range e.tokens() {
		if strings.HasPrefix(tok.Name, "exec-") {
			name, life = tok.Name, tok.ExpiresAt.Sub(tok.CreatedAt)
		}
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	<-done
	base := filepath.Base(testBinary(t))
	if !strings.HasPrefix(name, "exec-"+strings.ReplaceAll(base, "+", "-")+"-") || len(name) != len("exec-"+base+"-")+6 {
		t.Errorf("name %q, want exec-%s-XXXXXX", name, base)
	}
	if life != DefaultExecLifetime {
		t.Errorf("lifetime %v, want %v", life, DefaultExecLifetime)
	}
}

// The delete after the child ends has a budget of its own: a create that
// spent most of --timeout must not leave the token alive.
func TestExecCleanupHasItsOwnTimeout(t *testing.T) {
	e := newTestEnv(t)
	target, _ := url.Parse(e.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			time.Sleep(700 * time.Millisecond)
		case http.MethodDelete:
			time.Sleep(400 * time.Millisecond)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	budget := client.NewBudget(time.Second) // --timeout 1s for the command
	e.f.Client = func() (*client.Client, error) {
		return client.New(client.Options{Host: slow.URL, Token: e.cred.Token, Budget: budget})
	}
	_, errOut := e.mustRun(0, "exec", "--", testBinary(t), "exec-child", "exit", "0", DefaultExecEnv)
	if errOut != "" {
		t.Errorf("stderr %q", errOut)
	}
	if n := e.execTokens(); n != 0 {
		t.Fatalf("%d exec tokens left behind", n)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
	"github.com/tokenctl/tokenctl/internal/tokend"
)

// The test binary doubles as tokenctl and tokend, so the prompts are tried
// in the real programs (signal handling in Main included) on a real
// terminal: a pseudo-terminal this test drives like a person at a keyboard.
func TestMain(m *testing.M) {
	switch os.Getenv("PTY_TEST_PROGRAM") {
	case "tokenctl":
		os.Exit(root.Main())
	case "tokend":
		os.Exit(tokend.Main())
	}
	os.Exit(m.Run())
}

// ptyRun is one program running on a pseudo-terminal.
type ptyRun struct {
	t      *testing.T
	master *os.File
	slave  *os.File
	cmd    *exec.Cmd

	mu  sync.Mutex
	out bytes.Buffer
}

// openPTY opens a pseudo-terminal pair (what creack/pty does, in a few
// lines of Linux ioctls).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open pts: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// startOnPTY runs program (tokenctl or tokend) with args in its own session
// whose controlling terminal is a fresh pty, so ^C typed on the master
// reaches it as SIGINT the way a terminal sends it.
func startOnPTY(t *testing.T, program string, env []string, args ...string) *ptyRun {
	t.Helper()
	return startOnPTYWith(t, nil, program, env, args...)
}

// startOnPTYWith is startOnPTY with setup run on the master before the
// program starts (to set the window size it will read).
func startOnPTYWith(t *testing.T, setup func(master *os.File), program string, env []string, args ...string) *ptyRun {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	master, slave := openPTY(t)
	if setup != nil {
		setup(master)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), "PTY_TEST_PROGRAM="+program, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_STATE_HOME="+filepath.Join(home, ".state"),
		"XDG_DATA_HOME="+filepath.Join(home, ".data"), "DBUS_SESSION_BUS_ADDRESS=", "TERM=xterm", "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &ptyRun{t: t, master: master, slave: slave, cmd: cmd}
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return r
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENCTL_") && !strings.HasPrefix(kv, "TOKEND_") && !strings.HasPrefix(kv, "PTY_TEST_") {
			env = append(env, kv)
		}
	}
	return env
}

func (r *ptyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// waitFor waits until the terminal shows want and, when noEcho, until the
// program has switched echo off (it is then blocked in its password read).
func (r *ptyRun) waitFor(want string, noEcho bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(r.output(), want) && (!noEcho || !r.echo()) {
			// Give the program a moment to be blocked in its read.
			time.Sleep(100 * time.Millisecond)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("never saw %q (echo off: %v); terminal shows:\n%s", want, noEcho, r.output())
}

// echo reports whether the terminal echoes input.
func (r *ptyRun) echo() bool {
	tio, err := unix.IoctlGetTermios(int(r.slave.Fd()), unix.TCGETS)
	if err != nil {
		r.t.Fatalf("tcgetattr: %v", err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// ctrlC types ^C, then typeAfter (the bug report's user typed "y" and
// Enter at the confirmation), and returns the program's exit code. The
// program must end within a few seconds: a prompt that ignores ^C until
// Enter fails.
func (r *ptyRun) ctrlC(typeAfter string) int {
	r.t.Helper()
	if _, err := r.master.Write([]byte{0x03}); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	if typeAfter != "" {
		time.Sleep(200 * time.Millisecond)
		_, _ = r.master.Write([]byte(typeAfter))
	}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			r.t.Fatal(err)
		}
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
		r.t.Fatalf("still running 10s after ^C; terminal shows:\n%s", r.output())
		return -1
	}
}

// tokendFixture is a real token API over SQLite with a user alice and
// a login token for her.
type tokendFixture struct {
	url   string
	st    store.Store
	user  string
	login string // alice's secret
}

func newTokend(t *testing.T) *tokendFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(server.New(server.Config{}, st, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	f := &tokendFixture{url: srv.URL, st: st, user: store.NewID(time.Now())}
	if err := st.CreateUser(ctx, store.User{ID: f.user, Username: "alice", PasswordHash: "!", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	f.login, _ = f.mint(t, "tokenctl@test")
	return f
}

// mint puts a token for alice in the store; it returns secret and id.
func (f *tokendFixture) mint(t *testing.T, name string) (string, string) {
	t.Helper()
	sec, err := secret.Generate(secret.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	id := store.NewID(now)
	if _, _, err := f.st.CreateToken(context.Background(), store.NewToken{
		ID: id, UserID: f.user, Name: name, KeyHint: sec.Hint(), Digest: sec.Digest(), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Scopes: []string{scope.TokensRead, scope.TokensWrite}, // what a password login's token carries
	}); err != nil {
		t.Fatal(err)
	}
	return sec.String(), id
}

func (f *tokendFixture) works(t *testing.T, secret string) bool {
	t.Helper()
	c, err := client.New(client.Options{Host: f.url, Token: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.User(context.Background())
	return err == nil
}

func TestCtrlCAtTheDeleteConfirmationDeletesNothing(t *testing.T) {
	f := newTokend(t)
	victim, id := f.mint(t, "keep-me")
	r := startOnPTY(t, "tokenctl", []string{"TOKENCTL_HOST=" + f.url, "TOKENCTL_TOKEN=" + f.login}, "token", "delete", id)
	r.waitFor("Delete them? [y/N] ", false)
	if code := r.ctrlC("y\r"); code != 130 {
		t.Fatalf("exit %d after ^C, want 130; terminal shows:\n%s", code, r.output())
	}
	if !f.works(t, victim) {
		t.Fatalf("the token was deleted after ^C; terminal shows:\n%s", r.output())
	}
	if !r.echo() {
		t.Fatal("echo is off after ^C")
	}
	if out := r.output(); strings.Contains(out, "Deleted") || strings.Contains(out, "failed") {
		t.Fatalf("something ran after ^C:\n%s", out)
	}
}

func TestCtrlCAtTheCreateForm(t *testing.T) {
	f := newTokend(t)
	r := startOnPTY(t, "tokenctl", []string{"TOKENCTL_HOST=" + f.url, "TOKENCTL_TOKEN=" + f.login}, "token", "create")
	r.waitFor("Token name: ", false)
	if code := r.ctrlC(""); code != 130 {
		t.Fatalf("exit %d after ^C, want 130; terminal shows:\n%s", code, r.output())
	}
	if out := r.output(); strings.Contains(out, "Description") {
		t.Fatalf("the form went on after ^C:\n%s", out)
	}
}

func TestCtrlCAtThePasswordPromptRestoresEcho(t *testing.T) {
	f := newTokend(t)
	r := startOnPTY(t, "tokenctl", nil, "auth", "login", "--host", f.url, "--username", "alice", "--insecure-storage")
	r.waitFor("Password: ", true)
	if code := r.ctrlC(""); code != 130 {
		t.Fatalf("exit %d after ^C, want 130; terminal shows:\n%s", code, r.output())
	}
	if !r.echo() {
		t.Fatalf("echo is still off after ^C; terminal shows:\n%s", r.output())
	}
	if out := r.output(); strings.Contains(out, "Logged in") {
		t.Fatalf("logged in after ^C:\n%s", out)
	}
}

func TestCtrlCAtTokendUserAddRestoresEcho(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokend.db")
	r := startOnPTY(t, "tokend", nil, "user", "add", "bob", "--database", db)
	r.waitFor("Password for bob: ", true)
	if code := r.ctrlC(""); code != 130 {
		t.Fatalf("exit %d after ^C, want 130; terminal shows:\n%s", code, r.output())
	}
	if !r.echo() {
		t.Fatalf("echo is still off after ^C; terminal shows:\n%s", r.output())
	}
	if out := r.output(); strings.Contains(out, "Added user") || strings.Contains(out, "Repeat") {
		t.Fatalf("user add went on after ^C:\n%s", out)
	}
}

func TestCtrlCAtTheUsernamePrompt(t *testing.T) {
	f := newTokend(t)
	r := startOnPTY(t, "tokenctl", nil, "auth", "login", "--host", f.url, "--insecure-storage")
	r.waitFor("Username: ", false)
	if code := r.ctrlC("alice\r"); code != 130 {
		t.Fatalf("exit %d after ^C, want 130; terminal shows:\n%s", code, r.output())
	}
	if !r.echo() {
		t.Fatalf("echo is off after ^C; terminal shows:\n%s", r.output())
	}
	if out := r.output(); strings.Contains(out, "Password") || strings.Contains(out, "Logged in") {
		t.Fatalf("login went on after ^C:\n%s", out)
	}
}

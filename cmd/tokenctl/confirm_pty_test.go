package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// startSized is startOnPTY (tokenctl) on a terminal of rows × cols, set
// as a terminal emulator does before the program reads it.
func startSized(t *testing.T, rows, cols uint16, env []string, args ...string) *ptyRun {
	t.Helper()
	return startOnPTYWith(t, func(master *os.File) {
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
			t.Fatalf("set window size: %v", err)
		}
	}, "tokenctl", env, args...)
}

// answer types line and Enter and returns the exit code.
func (r *ptyRun) answer(line string) int {
	r.t.Helper()
	if _, err := r.master.Write([]byte(line + "\r")); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			r.t.Fatal(err)
		}
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
		r.t.Fatalf("still running 30s after the answer; terminal shows:\n%s", r.output())
		return -1
	}
}

// The issue: a bulk delete's confirmation lists what fits the screen, then
// the count, on a real terminal of 20 lines.
func TestBulkDeleteConfirmationFitsTheTerminal(t *testing.T) {
	f := newTokend(t)
	for i := range 40 {
		f.mint(t, fmt.Sprintf("tmp-%02d", i))
	}
	r := startSized(t, 20, 100, []string{"TOKENCTL_HOST=" + f.url, "TOKENCTL_TOKEN=" + f.login}, "token", "delete", "--name", "tmp-*")
	r.waitFor("Type 40 to delete them: ", false)
	out := r.output()
	shown := len(regexp.MustCompile(`(?m)^[0-9a-z]{26} +tmp-\d\d`).FindAllString(out, -1))
	if shown != 15 {
		t.Errorf("%d tokens listed on a 20-line terminal, want 15 (20 less heading, header, count, prompt and a spare):\n%s", shown, out)
	}
	if !strings.Contains(out, "About to delete 40 tokens:") || !strings.Contains(out, fmt.Sprintf("… and %d more (40 tokens in all)", 40-shown)) {
		t.Errorf("no heading or count:\n%s", out)
	}
	if lines := strings.Count(out[strings.Index(out, "About to delete"):], "\n") + 1; lines > 20 {
		t.Errorf("the heading scrolled away: %d lines from it to the question", lines)
	}
	if code := r.answer("40"); code != 0 {
		t.Fatalf("exit %d; terminal shows:\n%s", code, r.output())
	}
	// The program has exited, but its last lines may still be on their way
	// through the pty to the reader: wait for them rather than read once.
	r.waitFor("Deleted 40, not found 0, failed 0", false)
}

// rotate's question names the token and its key hint, not just an id.
func TestRotateConfirmationNamesTheTokenAndKeyHint(t *testing.T) {
	f := newTokend(t)
	victim, id := f.mint(t, "deploy-key")
	sec, err := secret.Parse(victim)
	if err != nil {
		t.Fatal(err)
	}
	hint := sec.Hint()
	r := startSized(t, 24, 120, []string{"TOKENCTL_HOST=" + f.url, "TOKENCTL_TOKEN=" + f.login}, "token", "rotate", "deploy-key")
	want := fmt.Sprintf("Rotate token %q (%s, key %s)? Its current secret stops working at once. [y/N] ", "deploy-key", id, hint)
	r.waitFor(want, false)
	if code := r.answer("n"); code != 1 {
		t.Fatalf("exit %d after n; terminal shows:\n%s", code, r.output())
	}
	if !f.works(t, victim) {
		t.Fatal("rotated although the answer was n")
	}
}

package token

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/client"
)

func TestDeleteByID(t *testing.T) {
	e := newTestEnv(t)
	a, b, keep := e.create("a", time.Hour), e.create("b", time.Hour), e.create("keep", time.Hour)
	_, errOut := e.mustRun(0, "delete", a.ID, b.ID, "--yes")
	if !strings.Contains(errOut, "Deleted 2, not found 0, failed 0") {
		t.Fatalf("summary: %q", errOut)
	}
	if names := e.tokenNames(); names["a"] || names["b"] || !names["keep"] {
		t.Fatalf("left %v", names)
	}
	if e.works(a.Secret) || !e.works(keep.Secret) {
		t.Fatal("wrong tokens deleted")
	}
}

func TestDeleteNameGlobScriptFlow(t *testing.T) {
	e := newTestEnv(t)
	for i := range 200 {
		e.mintDirect(fmt.Sprintf("ci-%03d", i), time.Hour)
	}
	e.create("deploy", time.Hour)

	// No terminal and no --yes: refused, nothing deleted.
	out, errOut, code := e.run("delete", "--name", "ci-*")
	if code != 2 || out != "" || !strings.Contains(errOut, "refusing to delete 200 tokens") || !strings.Contains(errOut, "--yes") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := len(e.tokens()); n != 202 {
		t.Fatalf("%d tokens left, want 202", n)
	}

	// --dry-run says 200 and leaves them alone.
	out, errOut = e.mustRun(0, "delete", "--name", "ci-*", "--dry-run")
	if !strings.Contains(errOut, "would delete 200 tokens") || strings.Count(out, "\tci-") != 200 {
		t.Fatalf("dry run: stderr %q, %d stdout lines", errOut, strings.Count(out, "\n"))
	}
	if n := len(e.tokens()); n != 202 {
		t.Fatalf("dry run deleted: %d left", n)
	}

	// --yes deletes exactly them; the login credential survives.
	_, errOut = e.mustRun(0, "delete", "--name", "ci-*", "--yes")
	if !strings.Contains(errOut, "Deleted 200, not found 0, failed 0") {
		t.Fatalf("summary: %q", errOut)
	}
	if names := e.tokenNames(); len(names) != 2 || !names["deploy"] || !names["tokenctl@test"] {
		t.Fatalf("left %v", names)
	}
	if !e.works(e.cred.Token) {
		t.Fatal("the CLI's own credential was deleted")
	}
}

func TestDeleteInBatches(t *testing.T) {
	e := newTestEnv(t)
	for range 25 {
		e.mintDirect("bulk", time.Hour)
	}
	cmd := NewCmdDelete(e.f, func(o *DeleteOptions) error {
		o.BatchSize = 7 // four requests
		return deleteRun(t.Context(), o)
	})
	cmd.SetArgs([]string{"--name", "bulk", "--yes"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.errOut.String(), "Deleted 25, not found 0, failed 0") || len(e.tokens()) != 1 {
		t.Fatalf("stderr %q, %d left", e.errOut.String(), len(e.tokens()))
	}
}

func TestDeleteFromStdin(t *testing.T) {
	e := newTestEnv(t)
	a, b := e.create("a", time.Hour), e.create("b", time.Hour)
	e.in.WriteString("# tokens to drop\n\n" + a.ID + "  a  extra words\n   \n" + b.ID + "\n")
	_, errOut := e.mustRun(0, "delete", "-", "--yes")
	if !strings.Contains(errOut, "Deleted 2,") || len(e.tokens()) != 1 {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestDeleteUnknownIDIsAPartialFailure(t *testing.T) {
	e := newTestEnv(t)
	a := e.create("a", time.Hour)
	unknown := "01jd8k2m4n5p6q7r8s9t0v1w2x"
	e.in.WriteString(a.ID + "\n" + unknown + "\n")
	_, errOut := e.mustRun(3, "delete", "-", "--yes")
	if !strings.Contains(errOut, "Deleted 1, not found 1, failed 0") || !strings.Contains(errOut, "not found: "+unknown) {
		t.Fatalf("stderr %q", errOut)
	}
	if e.works(a.Secret) {
		t.Fatal("the real id was not deleted")
	}

	_, errOut = e.mustRun(0, "delete", unknown, "--yes", "--ignore-not-found")
	if !strings.Contains(errOut, "Deleted 0, not found 1, failed 0") {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestDeleteFilters(t *testing.T) {
	e := newTestEnv(t)
	e.create("old-expired", time.Hour)
	e.clock.Advance(48 * time.Hour)
	e.create("recent", 30*24*time.Hour)
	cut := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)

	out, _ := e.mustRun(0, "delete", "--expired", "--dry-run")
	if !strings.Contains(out, "old-expired") || strings.Contains(out, "recent") {
		t.Fatalf("--expired selected %q", out)
	}
	out, _ = e.mustRun(0, "delete", "--created-before", cut, "--dry-run")
	if !strings.Contains(out, "old-expired") || strings.Contains(out, "recent") || strings.Contains(out, "tokenctl@test") {
		t.Fatalf("--created-before selected %q", out)
	}
	out, errOut := e.mustRun(0, "delete", "--all", "--dry-run")
	if !strings.Contains(out, "recent") || strings.Contains(out, "tokenctl@test") || !strings.Contains(errOut, "Skipping") {
		t.Fatalf("--all selected %q, stderr %q", out, errOut)
	}
	_, errOut = e.mustRun(0, "delete", "--name", "nothing")
	if !strings.Contains(errOut, "nothing to delete") {
		t.Fatalf("empty selection: %q", errOut)
	}
}

func TestDeleteNeverTakesTheCurrentCredentialUnlessAsked(t *testing.T) {
	e := newTestEnv(t)
	e.create("other", time.Hour)
	_, errOut := e.mustRun(0, "delete", "--all", "--yes")
	if !strings.Contains(errOut, "Skipping") || !strings.Contains(errOut, "Deleted 1,") || !e.works(e.cred.Token) || e.removed {
		t.Fatalf("stderr %q", errOut)
	}

	_, errOut = e.mustRun(0, "delete", "--all", "--yes", "--include-current")
	if !strings.Contains(errOut, "Deleted 1,") || !strings.Contains(errOut, "logged out") || !e.removed {
		t.Fatalf("stderr %q, removed %v", errOut, e.removed)
	}
}

func TestDeleteWhoseOnlyMatchIsTheCurrentCredentialFails(t *testing.T) {
	e := newTestEnv(t)
	for _, args := range [][]string{
		{"delete", "--name", "tokenctl@*", "--yes"},
		{"delete", "--name", "tokenctl@*", "--dry-run"},
	} {
		_, errOut, code := e.run(args...)
		if code != 1 || !strings.Contains(errOut, "nothing deleted: the only match is "+e.currentID()) || !strings.Contains(errOut, "--include-current") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if !e.works(e.cred.Token) || e.removed {
			t.Fatalf("%v: the current credential was touched", args)
		}
	}
}

func TestDeleteByNamingTheCurrentCredentialLogsOut(t *testing.T) {
	e := newTestEnv(t)
	secret := e.cred.Token
	_, errOut := e.mustRun(0, "delete", e.currentID(), "--yes")
	if !e.removed || e.works(secret) || !strings.Contains(errOut, "logged out") {
		t.Fatalf("stderr %q", errOut)
	}
	_, _, code := e.run("list")
	if code != 4 {
		t.Fatalf("after logout list exits %d, want 4", code)
	}
}

func TestDeleteConfirmsOnATerminal(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		answer  string
		deleted bool
		prompt  string
	}{
		{"few tokens: y confirms", 3, "y\n", true, "[y/N]"},
		{"few tokens: anything else declines", 3, "n\n", false, "[y/N]"},
		{"many tokens: typing the count confirms", 12, "12\n", true, "Type 12"},
		{"many tokens: y is not enough", 12, "y\n", false, "Type 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			for range tt.n {
				e.mintDirect("tmp", time.Hour)
			}
			e.ios.SetStdinTTY(true)
			e.ios.SetStderrTTY(true)
			e.in.WriteString(tt.answer)
			want := 0
			if !tt.deleted {
				want = 1
			}
			_, errOut := e.mustRun(want, "delete", "--name", "tmp")
			if !strings.Contains(errOut, fmt.Sprintf("About to delete %d tokens", tt.n)) || !strings.Contains(errOut, tt.prompt) {
				t.Fatalf("stderr %q", errOut)
			}
			left := len(e.tokens()) - 1
			if (left == 0) != tt.deleted {
				t.Fatalf("%d left, deleted=%v wanted", left, tt.deleted)
			}
		})
	}
}

func TestDeleteRejectsBadInputBeforeSending(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"nothing selected", nil, "", "nothing selected"},
		{"ids with --all", []string{"01jd8k2m4n5p6q7r8s9t0v1w2x", "--all"}, "", "--all cannot be combined"},
		{"ids with a filter", []string{"01jd8k2m4n5p6q7r8s9t0v1w2x", "--expired"}, "", "not both"},
		{"a pasted secret as an argument", []string{"tkn_0123456789abcdefghijABCDEFGHIJ000000"}, "", "(a token secret, not shown)"},
		{"a name several tokens share", []string{"dup"}, "", `2 tokens are named "dup"`},
		{"garbage on stdin names its line", []string{"-"}, "# ok\n01jd8k2m4n5p6q7r8s9t0v1w2x\nDROP TABLE tokens;\n", "stdin line 3"},
		{"empty stdin", []string{"-"}, "# only a comment\n", "no token ids on stdin"},
		{"- with ids", []string{"-", "01jd8k2m4n5p6q7r8s9t0v1w2x"}, "", "cannot be combined"},
		{"bad date", []string{"--created-before", "yesterday"}, "", "invalid date"},
		{"bad glob", []string{"--name", "["}, "", "invalid --name pattern"},
		{"--all with a filter", []string{"--all", "--expired"}, "", "--all selects every token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.create("x", time.Hour)
			e.create("dup", time.Hour)
			e.create("dup", time.Hour)
			before := len(e.tokens())
			e.in.WriteString(tt.stdin)
			out, errOut, code := e.run(append([]string{"delete", "--yes"}, tt.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 with %q", code, out, errOut, tt.want)
			}
			if len(e.tokens()) != before {
				t.Fatal("something was deleted")
			}
		})
	}
}

func TestDeleteAliases(t *testing.T) {
	for _, alias := range []string{"rm", "revoke"} {
		e := newTestEnv(t)
		ct := e.create("x", time.Hour)
		e.mustRun(0, alias, ct.ID, "--yes")
		if e.works(ct.Secret) {
			t.Errorf("%s did not delete", alias)
		}
	}
}

func TestDeleteShowsAProgressBarOnATerminal(t *testing.T) {
	e := newTestEnv(t)
	for range 30 {
		e.mintDirect("bulk", time.Hour)
	}
	e.ios.SetStderrTTY(true)
	_, errOut := e.mustRun(0, "delete", "--name", "bulk", "--yes")
	if !strings.Contains(errOut, "About to delete 30 tokens") || !strings.Contains(errOut, "Deleting") || !strings.Contains(errOut, "0/30") {
		t.Fatalf("stderr %q", errOut)
	}
	if !strings.Contains(errOut, "Deleted 30, not found 0, failed 0") {
		t.Fatalf("no summary: %q", errOut)
	}
}

func TestDeleteHasNoProgressBarOffATerminal(t *testing.T) {
	e := newTestEnv(t)
	e.create("x", time.Hour)
	_, errOut := e.mustRun(0, "delete", "--name", "x", "--yes")
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "1/1") {
		t.Fatalf("progress output off a terminal: %q", errOut)
	}
}

// --timeout is spent only on the network: a person who takes longer than
// it to answer the confirmation still gets the delete.
func TestTimeAtTheConfirmationIsNotSpentFromTimeout(t *testing.T) {
	e := newTestEnv(t)
	e.mintDirect("tmp", time.Hour)
	e.mintDirect("tmp", time.Hour)
	budget := client.NewBudget(500 * time.Millisecond) // --timeout 500ms
	e.f.Client = func() (*client.Client, error) {
		return client.New(client.Options{Host: e.srv.URL, Token: e.cred.Token, Budget: budget})
	}
	e.ios.SetStdinTTY(true)
	e.ios.SetStderrTTY(true)
	pr, pw := io.Pipe()
	e.ios.In = pr
	go func() {
		time.Sleep(800 * time.Millisecond) // thinking it over
		_, _ = pw.Write([]byte("y\n"))
	}()
	e.mustRun(0, "delete", "--name", "tmp")
	if left := len(e.tokens()) - 1; left != 0 {
		t.Fatalf("%d tmp tokens left", left)
	}
}

// The issue: a bulk delete's confirmation listed five tokens whatever the
// terminal; it lists what fits the screen, then the count.
func TestDeletePreviewFitsTheTerminal(t *testing.T) {
	for _, tt := range []struct {
		height, n, shown int
		more             string
	}{
		{height: 12, n: 30, shown: 7, more: "… and 23 more (30 tokens in all)"},
		{height: 50, n: 30, shown: 30},
		{height: 4, n: 30, shown: 3, more: "… and 27 more (30 tokens in all)"},
	} {
		e := newTestEnv(t)
		for range tt.n {
			e.mintDirect("tmp", time.Hour)
		}
		e.ios.SetStdinTTY(true)
		e.ios.SetStderrTTY(true)
		e.ios.SetTerminalHeight(tt.height)
		e.in.WriteString("no\n")
		_, errOut := e.mustRun(1, "delete", "--name", "tmp")
		if got := strings.Count(errOut, "  tmp\n"); got != tt.shown {
			t.Errorf("height %d: %d rows shown, want %d:\n%s", tt.height, got, tt.shown, errOut)
		}
		if tt.more != "" && !strings.Contains(errOut, tt.more+"\nType 30 to delete them: ") {
			t.Errorf("height %d: no %q before the question:\n%s", tt.height, tt.more, errOut)
		}
		if tt.more == "" && strings.Contains(errOut, "more (") {
			t.Errorf("height %d: everything fits, yet:\n%s", tt.height, errOut)
		}
		if lines := strings.Count(errOut[:strings.Index(errOut, "Type 30")], "\n") + 1; lines > max(tt.height, 3+previewReserve) {
			t.Errorf("height %d: the preview and question take %d lines", tt.height, lines)
		}
	}
}

package token

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
)

func TestShow(t *testing.T) {
	e := newTestEnv(t)
	ct := e.create("deploy", 48*time.Hour)
	out, _ := e.mustRun(0, "show", ct.ID)
	for _, want := range []string{"ID:          " + ct.ID, "Name:        deploy", "Key:         " + ct.KeyHint, "Status:      active", "Last used:   never", "(in 2d)"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ct.Secret) {
		t.Fatal("show printed the secret")
	}

	out, _ = e.mustRun(0, "show", ct.ID, "-o", "json")
	var tok api.Token
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.ID != ct.ID || tok.KeyHint != ct.KeyHint {
		t.Fatalf("json: %v %+v", err, tok)
	}
	out, _ = e.mustRun(0, "show", ct.ID, "--jq", ".name")
	if out != "deploy\n" {
		t.Fatalf("jq: %q", out)
	}
}

func TestShowErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an unknown name says so", []string{"not-an-id"}, 1, `no token named "not-an-id"`},
		{"a pasted secret is neither echoed nor looked up", []string{"tkn_0123456789abcdefghijABCDEFGHIJ000000"}, 2, "(a token secret, not shown)"},
		{"a blank name is a usage error", []string{" "}, 2, "invalid token id or name"},
		{"unknown id says so", []string{"01jd8k2m4n5p6q7r8s9t0v1w2x"}, 1, "no token with id 01jd8k2m4n5p6q7r8s9t0v1w2x"},
		{"no id", nil, 2, "expected 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			out, errOut, code := e.run(append([]string{"show"}, tt.args...)...)
			if code != tt.code || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}

func TestShowCompletesTokenIDsWithNames(t *testing.T) {
	e := newTestEnv(t)
	ct := e.create("deploy", time.Hour)
	root := NewCmdToken(e.f)
	show, _, _ := root.Find([]string{"show"})
	comps, dir := show.ValidArgsFunction(show, nil, "")
	found := false
	for _, c := range comps {
		if c == ct.ID+"\tdeploy" {
			found = true
		}
	}
	if !found || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Fatalf("completions %v (directive %d) lack %s\\tdeploy", comps, dir, ct.ID)
	}
	if comps, _ := show.ValidArgsFunction(show, []string{ct.ID}, ""); len(comps) != 0 {
		t.Fatalf("offered a second id: %v", comps)
	}
}

func TestCompletionIsQuietWhenTheServerIsDown(t *testing.T) {
	e := newTestEnv(t)
	e.srv.Close()
	root := NewCmdToken(e.f)
	del, _, _ := root.Find([]string{"delete"})
	comps, _ := del.ValidArgsFunction(del, nil, "")
	if len(comps) != 0 || e.errOut.Len() != 0 {
		t.Fatalf("completions %v, stderr %q", comps, e.errOut.String())
	}
}

// On a colour terminal the labels are bold; the escape codes take no
// columns, so every value must still start in the same column.
func TestShowAlignsLabelsInColour(t *testing.T) {
	e := newTestEnv(t)
	ct := e.create("deploy", 48*time.Hour)
	e.ios.SetStdoutTTY(true)
	e.ios.SetColorEnabled(true)
	out, _ := e.mustRun(0, "show", ct.ID)
	if !strings.Contains(out, "\x1b[1m") {
		t.Fatalf("no colour on a colour terminal:\n%q", out)
	}
	plain := regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(out, "")
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	if len(lines) < 9 {
		t.Fatalf("show printed %d lines:\n%s", len(lines), plain)
	}
	for _, l := range lines {
		// Labels are at most 11 characters with the colon, padded to 12,
		// then one space: every value starts in column 14.
		if len(l) < 14 || l[12] != ' ' || l[13] == ' ' || !strings.Contains(l[:12], ":") {
			t.Errorf("misaligned line %q in:\n%s", l, plain)
		}
	}
}

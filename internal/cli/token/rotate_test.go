package token

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

func TestRotateGivesANewWorkingSecretAndKillsTheOld(t *testing.T) {
	e := newTestEnv(t)
	ct := e.create("deploy", 10*24*time.Hour)
	out, _ := e.mustRun(0, "rotate", "--yes", ct.ID, "-q")
	s := strings.TrimSuffix(out, "\n")
	if !secretRE.MatchString(s) || s == ct.Secret {
		t.Fatalf("stdout %q is not a new secret", out)
	}
	if !e.works(s) {
		t.Fatal("new secret does not work")
	}
	if e.works(ct.Secret) {
		t.Fatal("old secret still works")
	}
	tok := e.token("deploy")
	if tok.ID != ct.ID || tok.ExpiresAt.Sub(tok.CreatedAt) != 10*24*time.Hour {
		t.Fatalf("rotated token %+v lost its id or lifetime", tok)
	}
}

func TestRotatePrintsLikeCreate(t *testing.T) {
	e := newTestEnv(t)
	ct := e.create("deploy", time.Hour)
	out, _ := e.mustRun(0, "rotate", "--yes", ct.ID)
	if !strings.Contains(out, `Rotated token "deploy"`) || !strings.Contains(out, "shown only once") || !secretRE.MatchString(out) {
		t.Fatalf("block:\n%s", out)
	}
	out, _ = e.mustRun(0, "rotate", "--yes", ct.ID, "-o", "dotenv", "--env-name", "DEPLOY_TOKEN")
	if !strings.HasPrefix(out, "DEPLOY_TOKEN=tkn_") {
		t.Fatalf("dotenv: %q", out)
	}
}

func TestRotateOfTheCurrentCredentialStoresTheNewSecret(t *testing.T) {
	e := newTestEnv(t)
	old := e.cred.Token
	id := e.currentID()
	out, errOut := e.mustRun(0, "rotate", "--yes", id, "-q")
	s := strings.TrimSuffix(out, "\n")
	if e.cred.Token != s || s == old {
		t.Fatalf("stored credential was not replaced by the new secret")
	}
	if !strings.Contains(errOut, "stored the new secret in the keyring") {
		t.Errorf("stderr does not say so: %q", errOut)
	}
	// Still logged in: the next command works.
	e.mustRun(0, "list")
}

func TestRotateOfTheCurrentCredentialWhenStoringFails(t *testing.T) {
	e := newTestEnv(t)
	e.saveCredentialFn = func(c *cmdutil.Credential, s string) error {
		return errors.New("TOKENCTL_TOKEN is set in the environment: update it yourself")
	}
	out, errOut, code := e.run("rotate", "--yes", e.currentID(), "-q")
	if code != 1 || !secretRE.MatchString(out) {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "could not store the new secret") || !strings.Contains(errOut, "auth login") || secretRE.MatchString(errOut) {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestRotateErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown name", []string{"xyz"}, 1, `no token named "xyz"`},
		{"a pasted secret is neither echoed nor looked up", []string{"tkn_0123456789abcdefghijABCDEFGHIJ000000"}, 2, "(a token secret, not shown) is not a token id or name"},
		{"unknown id", []string{"01jd8k2m4n5p6q7r8s9t0v1w2x"}, 1, "no token with id"},
		{"quiet with yaml", []string{"01jd8k2m4n5p6q7r8s9t0v1w2x", "-q", "-o", "yaml"}, 2, "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			out, errOut, code := e.run(append([]string{"rotate", "--yes"}, tt.args...)...)
			if code != tt.code || out != "" || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}

func TestRotateMasksForGitHubActions(t *testing.T) {
	e := newTestEnv(t)
	e.environ["GITHUB_ACTIONS"] = "true"
	ct := e.create("ci", time.Hour)
	out, errOut := e.mustRun(0, "rotate", "--yes", ct.ID, "-q")
	if errOut != "::add-mask::"+out {
		t.Fatalf("stderr %q, stdout %q", errOut, out)
	}
}

func TestRotateAsksOnATerminalAndRefusesWithoutOne(t *testing.T) {
	e := newTestEnv(t)
	ct := e.create("ci", time.Hour)

	// No terminal, no --yes: refused before anything is sent.
	out, errOut, code := e.run("rotate", ct.ID, "-q")
	if code != 2 || out != "" || !strings.Contains(errOut, "refusing to rotate") || !strings.Contains(errOut, "--yes") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !e.works(ct.Secret) {
		t.Fatal("rotated without confirmation")
	}

	// On a terminal: anything but y keeps the old secret.
	e.ios.SetStdinTTY(true)
	e.ios.SetStderrTTY(true)
	e.in.WriteString("n\n")
	out, errOut, code = e.run("rotate", ct.ID, "-q")
	// The question names what dies: the token, its id and its key hint.
	ask := fmt.Sprintf("Rotate token %q (%s, key %s)? Its current secret stops working at once. [y/N] ", "ci", ct.ID, ct.KeyHint)
	if code != 1 || out != "" || !strings.Contains(errOut, ask) || !strings.Contains(errOut, "nothing was rotated") {
		t.Fatalf("answer n: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !e.works(ct.Secret) {
		t.Fatal("rotated although the answer was n")
	}

	e.in.WriteString("y\n")
	out, _ = e.mustRun(0, "rotate", ct.ID, "-q")
	if e.works(ct.Secret) || !e.works(strings.TrimSpace(out)) {
		t.Fatal("answer y did not rotate")
	}
}

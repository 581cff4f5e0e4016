package token

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// The issue: show, rotate and delete take a unique name where an id goes;
// an ambiguous one exits 2 listing the candidates' ids.
func TestNamesWhereIDsGo(t *testing.T) {
	e := newTestEnv(t)
	key := e.create("deploy-key", time.Hour)
	other := e.create("other", time.Hour)

	out, _ := e.mustRun(0, "show", "deploy-key")
	if !strings.Contains(out, "ID:          "+key.ID) {
		t.Fatalf("show by name:\n%s", out)
	}

	out, _ = e.mustRun(0, "rotate", "deploy-key", "--yes", "-q")
	if e.works(key.Secret) || !e.works(strings.TrimSpace(out)) {
		t.Fatal("rotate by name did not rotate deploy-key")
	}
	if !e.works(other.Secret) {
		t.Fatal("rotate by name touched another token")
	}

	_, errOut := e.mustRun(0, "delete", "deploy-key", "--yes")
	if !strings.Contains(errOut, "Deleted 1, not found 0, failed 0") {
		t.Fatalf("delete by name: %q", errOut)
	}
	if names := e.tokenNames(); names["deploy-key"] || !names["other"] {
		t.Fatalf("left %v", names)
	}

	// Names are exact: a glob character is a character, not a pattern.
	e.create("ci-*", time.Hour)
	e.create("ci-1", time.Hour)
	out, _ = e.mustRun(0, "show", "ci-*", "--jq", ".name")
	if out != "ci-*\n" {
		t.Fatalf("show ci-*: %q", out)
	}
}

func TestAnAmbiguousNameListsTheIDs(t *testing.T) {
	e := newTestEnv(t)
	a, b := e.create("deploy-key", time.Hour), e.create("deploy-key", time.Hour)
	for _, args := range [][]string{
		{"show", "deploy-key"},
		{"rotate", "deploy-key", "--yes"},
		{"delete", "deploy-key", "--yes"},
	} {
		out, errOut, code := e.run(args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, `2 tokens are named "deploy-key"`) || !strings.Contains(errOut, a.ID) || !strings.Contains(errOut, b.ID) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if !e.works(a.Secret) || !e.works(b.Secret) {
		t.Fatal("an ambiguous name changed a token")
	}
	// Their ids still work.
	e.mustRun(0, "show", a.ID)
}

// An argument that is a valid id is an id, even when a token is named like
// one; case does not matter for ids and matters for names.
func TestAnIDIsAnIDAndANameIsExact(t *testing.T) {
	e := newTestEnv(t)
	real := e.create("real", time.Hour)
	e.create(real.ID, time.Hour) // a token named like another's id
	out, _ := e.mustRun(0, "show", strings.ToUpper(real.ID), "--jq", ".name")
	if out != "real\n" {
		t.Fatalf("show ID: %q", out)
	}
	_, errOut, code := e.run("show", "REAL")
	if code != 1 || !strings.Contains(errOut, `no token named "REAL"`) {
		t.Fatalf("names are case-sensitive: exit %d, %q", code, errOut)
	}
}

// One bad name in a delete deletes nothing, and a name may name the
// current credential explicitly.
func TestDeleteByNamesResolvesAllFirst(t *testing.T) {
	e := newTestEnv(t)
	a := e.create("a", time.Hour)
	_, errOut, code := e.run("delete", "a", "missing", "--yes")
	if code != 1 || !strings.Contains(errOut, `no token named "missing"`) || !e.works(a.Secret) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	_, errOut = e.mustRun(0, "delete", "tokenctl@test", "--yes")
	if !e.removed || !strings.Contains(errOut, "logged out") {
		t.Fatalf("deleting the current credential by name: %q", errOut)
	}
}

func TestAVeryAmbiguousNameListsTenIDs(t *testing.T) {
	e := newTestEnv(t)
	for range 12 {
		e.mintDirect("ci", time.Hour)
	}
	_, errOut, code := e.run("show", "ci")
	if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "12 tokens are named \"ci\"") ||
		!strings.Contains(errOut, " and 2 more (`tokenctl token list --name 'ci'` lists them)") || strings.Count(errOut, ", ") != 9 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// parseRef takes whatever was typed: it never panics, a valid id is an
// id, and its error never echoes a secret.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"01jd8k2m4n5p6q7r8s9t0v1w2x", "01JD8K2M4N5P6Q7R8S9T0V1W2X", "deploy-key", "", " ", "ci-*", "tkn_0123456789abcdefghijABCDEFGHIJ000000", "a\x00b", strings.Repeat("n", 101)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRef(s)
		if api.ValidID(strings.ToLower(s)) && (err != nil || r.id != strings.ToLower(s)) {
			t.Fatalf("id %q: ref %+v, err %v", s, r, err)
		}
		if err != nil && looksLikeSecret(s) && len(s) > 12 && strings.Contains(err.Error(), s[4:12]) {
			t.Fatalf("the error echoes a secret: %v", err)
		}
		if err == nil && r.id == "" && r.arg != s {
			t.Fatalf("name %q became %q", s, r.arg)
		}
	})
}

package tokend

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const corpIssuer = "https://login.example.com"

func TestSSOCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sso.db")
	secretFile := filepath.Join(dir, "secret")
	const secret = "the-client-secret-4f2a"
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, "", nil, "sso", "add", "corp", "--issuer", corpIssuer, "--client-id", "tokend",
		"--client-secret-file", secretFile, "--username-claim", "email", "--allow", "email=*@example.com",
		"--allow", "groups=eng", "--admin-if", "groups=admins", "--scope", "groups", "--create-users", "--database", db)
	if err != nil || !strings.Contains(errOut, "Added sso provider corp: "+corpIssuer+", usernames from email, anyone (new users are created) may sign in.") {
		t.Fatalf("sso add = %q, %v", errOut, err)
	}
	// The secret from stdin, preferred_username by default, existing users only.
	if _, errOut, err = run(t, secret+"\n", map[string]string{"TOKEND_DATABASE": db}, "sso", "add", "dex", "--issuer", "http://127.0.0.1:5556/dex",
		"--client-id", "tokend", "--client-secret-file", "-"); err != nil || !strings.Contains(errOut, "usernames from preferred_username, existing users may sign in") {
		t.Fatalf("sso add dex = %q, %v", errOut, err)
	}
	if _, _, err := run(t, "", nil, "sso", "add", "corp", "--issuer", corpIssuer, "--client-id", "x", "--client-secret-file", secretFile,
		"--database", db); err == nil || isUsage(err) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate sso add = %v", err)
	}

	out, _, err = run(t, "", nil, "sso", "list", "--database", db)
	if err != nil || out != "corp\ndex\n" {
		t.Fatalf("sso list piped = %q, %v", out, err)
	}
	out, _, err = run(t, "", nil, "sso", "list", "-o", "table", "--database", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME ISSUER CLIENT-ID USERNAME ALLOW ADMIN-IF CREATE-USERS" ||
		strings.Join(strings.Fields(lines[1]), " ") != "corp "+corpIssuer+" tokend email email=*@example.com groups=eng groups=admins true" ||
		strings.Join(strings.Fields(lines[2]), " ") != "dex http://127.0.0.1:5556/dex tokend preferred_username - - false" {
		t.Fatalf("sso list -o table =\n%s%v", out, err)
	}
	out, _, err = run(t, "", nil, "sso", "list", "-o", "json", "--database", db)
	var got []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 2 || got[0]["client_id"] != "tokend" || got[0]["create_users"] != true ||
		len(got[0]["scopes"].([]any)) != 1 || got[0]["scopes"].([]any)[0] != "groups" {
		t.Fatalf("sso list -o json = %s, %v", out, err)
	}
	for _, o := range []string{"table", "json"} {
		out, errOut, _ := run(t, "", nil, "sso", "list", "-o", o, "--database", db)
		if strings.Contains(out+errOut, secret) {
			t.Fatalf("sso list -o %s shows the client secret", o)
		}
	}

	if _, errOut, err := run(t, "", nil, "sso", "delete", "corp", "--database", db); err != nil || !strings.Contains(errOut, "Deleted sso provider corp.") {
		t.Fatalf("sso delete = %q, %v", errOut, err)
	}
	if _, _, err := run(t, "", nil, "sso", "delete", "corp", "--database", db); err == nil || !strings.Contains(err.Error(), `no sso provider "corp"; see tokend sso list`) {
		t.Fatalf("second delete = %v", err)
	}
}

func TestSSOAddRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sso.db")
	good := filepath.Join(dir, "secret")
	empty := filepath.Join(dir, "empty")
	twoLines := filepath.Join(dir, "two")
	os.WriteFile(good, []byte("s3cret"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	os.WriteFile(twoLines, []byte("s3cret\nmore\n"), 0o600)
	base := func(extra ...string) []string {
		return append([]string{"sso", "add", "corp", "--issuer", corpIssuer, "--client-id", "tokend", "--database", db}, extra...)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no secret file", base(), "--client-secret-file is required"},
		{"a missing file", base("--client-secret-file", filepath.Join(dir, "nope")), "--client-secret-file: "},
		{"an empty file", base("--client-secret-file", empty), "--client-secret-file is empty"},
		{"two lines", base("--client-secret-file", twoLines), "more than one line"},
		{"an unknown username claim", base("--client-secret-file", good, "--username-claim", "name"), "--username-claim must be one of preferred_username, email, sub"},
		{"an --allow without =", base("--client-secret-file", good, "--allow", "groups"), `--allow "groups" is not KEY=GLOB`},
		{"an --admin-if with an empty glob", base("--client-secret-file", good, "--admin-if", "groups="), `--admin-if "groups=" is not KEY=GLOB`},
		{"a plain-http issuer", []string{"sso", "add", "corp", "--issuer", "http://login.example.com", "--client-id", "x", "--client-secret-file", good, "--database", db}, "--issuer"},
		{"no client id", []string{"sso", "add", "corp", "--issuer", corpIssuer, "--client-secret-file", good, "--database", db}, "--client-id is required"},
		{"a scope with a space", base("--client-secret-file", good, "--scope", "a b"), `--scope "a b" is not an OpenID scope`},
		{"a bad name", []string{"sso", "add", "Corp!", "--issuer", corpIssuer, "--client-id", "x", "--client-secret-file", good, "--database", db}, "malformed"},
	} {
		_, _, err := run(t, "", nil, c.args...)
		if err == nil || !isUsage(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want a usage error with %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error quotes the secret: %v", c.name, err)
		}
	}
	if out, _, _ := run(t, "", nil, "sso", "list", "--database", db); out != "" {
		t.Fatalf("refused adds stored something: %q", out)
	}
}

func TestServeRefusesABadPublicURL(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	if _, _, err := run(t, "pw\n", nil, "user", "add", "alice", "--database", db); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ftp://tokend.example.com", "https://", "https://tokend.example.com/path", "tokend.example.com"} {
		_, _, err := run(t, "", nil, "serve", "--public-url", u, "--database", db)
		if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "--public-url must be a scheme and host") {
			t.Errorf("--public-url %s: %v", u, err)
		}
	}
}

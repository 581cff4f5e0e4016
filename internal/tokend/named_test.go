package tokend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The list, delete and secret-file shapes of the named things have one
// owner each (named.go, secretfile.go); these pin, to the byte, what every
// command using them printed before they were merged, so a change to the
// owner cannot quietly change one command's words.

func TestNamedListsWhenEmpty(t *testing.T) {
	db := filepath.Join(t.TempDir(), "empty.db")
	for _, c := range []struct{ group, note string }{
		{"webhook", "No webhooks yet; add one with: tokend webhook add NAME --url URL --event TYPE --secret-file FILE\n"},
		{"sso", "No sso providers yet; add one with: tokend sso add NAME --issuer URL ...\n"},
	} {
		out, errOut, err := run(t, "", nil, c.group, "list", "-o", "table", "--database", db)
		if err != nil || out != "" || errOut != c.note {
			t.Errorf("%s list -o table on an empty database = stdout %q, stderr %q, %v; want only %q on stderr", c.group, out, errOut, err, c.note)
		}
		// Piped, an empty list is empty output: scripts count lines.
		out, errOut, err = run(t, "", nil, c.group, "list", "--database", db)
		if err != nil || out != "" || errOut != "" {
			t.Errorf("%s list piped on an empty database = %q, %q, %v; want nothing", c.group, out, errOut, err)
		}
		out, _, err = run(t, "", nil, c.group, "list", "-o", "json", "--database", db)
		if err != nil || out != "[]\n" {
			t.Errorf("%s list -o json on an empty database = %q, %v; want []", c.group, out, err)
		}
	}
	// user list has no -o: piped it is names, even none.
	if out, errOut, err := run(t, "", nil, "user", "list", "--database", db); err != nil || out != "" || errOut != "" {
		t.Errorf("user list piped on an empty database = %q, %q, %v", out, errOut, err)
	}
	if _, _, err := run(t, "", nil, "user", "list", "-o", "json", "--database", db); err == nil || !isUsage(err) {
		t.Errorf("user list -o json = %v; want the usage error of an unknown flag", err)
	}
}

func TestNamedListsPiped(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lists.db")
	file, _ := secretFile(t)
	for _, u := range []string{"bob", "alice"} {
		if _, _, err := run(t, u+"-pw\n", nil, "user", "add", u, "--database", db); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []string{"ops", "chat"} {
		if _, _, err := run(t, "", nil, "webhook", "add", w, "--url", "https://hooks.example.com/"+w, "--event", "token.created",
			"--secret-file", file, "--database", db); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, "", nil, "scope", "add", "app:read", "--database", db); err != nil {
		t.Fatal(err)
	}
	for cmd, want := range map[string]string{
		"user":    "alice\nbob\n",
		"webhook": "chat\nops\n",
	} {
		if out, errOut, err := run(t, "", nil, cmd, "list", "--database", db); err != nil || out != want || errOut != "" {
			t.Errorf("%s list piped = %q, %q, %v; want %q", cmd, out, errOut, err, want)
		}
	}
	// Scopes: built-in and application ones, sorted together by name.
	out, _, err := run(t, "", nil, "scope", "list", "--database", db)
	if err != nil || out != "admin:read\nadmin:write\napp:read\ntokens:introspect\ntokens:read\ntokens:write\n" {
		t.Errorf("scope list piped = %q, %v", out, err)
	}
	out, _, err = run(t, "", nil, "scope", "list", "-o", "table", "--database", db)
	lines := strings.Split(out, "\n")
	if err != nil || len(lines) != 8 || strings.Join(strings.Fields(lines[0]), " ") != "NAME BUILTIN MAX LIFETIME DESCRIPTION" ||
		strings.Join(strings.Fields(lines[3]), " ") != "app:read no -" || lines[7] != "" {
		t.Errorf("scope list -o table =\n%s%v", out, err)
	}
	out, _, err = run(t, "", nil, "webhook", "list", "-o", "table", "--database", db)
	want := "NAME  URL                             FORMAT    EVENTS         PENDING  DELIVERED  FAILED  LAST-ERROR\n" +
		"chat  https://hooks.example.com/chat  standard  token.created  0        0          0       -\n" +
		"ops   https://hooks.example.com/ops   standard  token.created  0        0          0       -\n"
	if err != nil || out != want {
		t.Errorf("webhook list -o table =\n%q, %v\nwant\n%q", out, err, want)
	}
}

func TestNamedDeletes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "del.db")
	long := strings.Repeat("x", 100)
	for _, c := range []struct{ group, kind string }{{"webhook", "webhook"}, {"sso", "sso provider"}, {"trust", "trust policy"}} {
		_, errOut, err := run(t, "", nil, c.group, "delete", long, "--database", db)
		want := "no " + c.kind + ` "` + strings.Repeat("x", 79) + `…"; see tokend ` + c.group + " list"
		if err == nil || isUsage(err) || err.Error() != want || errOut != "" {
			t.Errorf("%s delete of a missing one = %v, %q; want %q (exit 1)", c.group, err, errOut, want)
		}
	}
	if _, _, err := run(t, "", nil, "webhook", "test", "nope", "--database", db); err == nil || err.Error() != `no webhook "nope"; see tokend webhook list` {
		t.Errorf("webhook test of a missing one = %v", err)
	}

	file, _ := secretFile(t)
	if _, _, err := run(t, "", nil, "webhook", "add", "ops", "--url", "https://hooks.example.com/x", "--event", "token.created",
		"--secret-file", file, "--database", db); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := run(t, "", nil, "webhook", "delete", "ops", "--database", db); err != nil || out != "" || errOut != "Deleted webhook ops.\n" {
		t.Errorf("webhook delete = %q, %q, %v", out, errOut, err)
	}
	if _, _, err := run(t, "s3cret\n", nil, "sso", "add", "corp", "--issuer", corpIssuer, "--client-id", "tokend",
		"--client-secret-file", "-", "--database", db); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := run(t, "", nil, "sso", "delete", "corp", "--database", db); err != nil || out != "" || errOut != "Deleted sso provider corp.\n" {
		t.Errorf("sso delete = %q, %q, %v", out, errOut, err)
	}
}

// Both secret-file flags refuse the same four ways, each in its own words.
func TestSecretFileRefusals(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "secrets.db")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty", " \n")
	twoLines := write("two", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\nmore\n")
	huge := write("huge", strings.Repeat("a", 4097))
	missing := filepath.Join(dir, "missing")

	webhookAdd := func(file string) []string {
		return []string{"webhook", "add", "ops", "--url", "https://hooks.example.com/x", "--event", "token.created", "--secret-file", file, "--database", db}
	}
	ssoAdd := func(file string) []string {
		return []string{"sso", "add", "corp", "--issuer", corpIssuer, "--client-id", "tokend", "--client-secret-file", file, "--database", db}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{webhookAdd(missing), "--secret-file: " + missing + ": no such file or directory"},
		{webhookAdd(empty), "--secret-file is empty; put the whsec_ secret in it"},
		{webhookAdd(twoLines), "--secret-file holds more than one line; it should hold only the secret"},
		{webhookAdd(huge), "--secret-file holds more than 4096 bytes; it should hold only the secret"},
		{ssoAdd(missing), "--client-secret-file: " + missing + ": no such file or directory"},
		{ssoAdd(empty), "--client-secret-file is empty; put the client secret the provider gave tokend in it"},
		{ssoAdd(twoLines), "--client-secret-file holds more than one line; it should hold only the client secret"},
		{ssoAdd(huge), "--client-secret-file holds more than 4096 bytes; it should hold only the client secret"},
	} {
		_, _, err := run(t, "", nil, c.args...)
		if err == nil || !isUsage(err) || err.Error() != c.want {
			t.Errorf("%s %s: %v; want the usage error %q", c.args[0], c.args[len(c.args)-3], err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "whsec_c2Vj") {
			t.Errorf("%s: the error quotes the file's content: %v", c.args[0], err)
		}
	}
	// "-" reads stdin, for both.
	if _, errOut, err := run(t, "\n", nil, webhookAdd("-")...); err == nil || err.Error() != "--secret-file is empty; put the whsec_ secret in it" {
		t.Errorf("webhook add --secret-file - with an empty stdin = %v, %q", err, errOut)
	}
	if _, errOut, err := run(t, "s3cret\n", nil, ssoAdd("-")...); err != nil || !strings.Contains(errOut, "Added sso provider corp") {
		t.Errorf("sso add --client-secret-file - = %v, %q", err, errOut)
	}
}

package tokend

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const ghIssuer = "https://token.actions.githubusercontent.com"

// trustDB returns a SQLite file with users alice and bob and the
// application scope deploy:write.
func trustDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "trust.db")
	for _, u := range []string{"alice", "bob"} {
		if _, _, err := run(t, u+"-pw\n", nil, "user", "add", u, "--database", db); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:write", "--database", db); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestTrustCommands(t *testing.T) {
	db := trustDB(t)
	_, errOut, err := run(t, "", nil, "trust", "add", "gha-deploy", "--issuer", ghIssuer, "--audience", "https://tokend.example",
		"--claim", "repository=acme/app", "--claim", "ref=refs/heads/main", "--user", "bob",
		"--scope", "deploy:write", "--scope", "tokens:read", "--max-lifetime", "30m", "--database", db)
	if err != nil || !strings.Contains(errOut, "Added trust policy gha-deploy: tokens for bob with deploy:write tokens:read, living at most 30m.") {
		t.Fatalf("trust add = %q, %v", errOut, err)
	}
	// $TOKEND_DATABASE like the other commands; --max-lifetime defaults to 15m.
	if _, _, err := run(t, "", map[string]string{"TOKEND_DATABASE": db}, "trust", "add", "gitlab", "--issuer", "http://127.0.0.1:9999/gl",
		"--audience", "aud", "--claim", "project_path=group/*", "--user", "alice", "--scope", "tokens:read"); err != nil {
		t.Fatalf("trust add gitlab: %v", err)
	}
	if _, _, err := run(t, "", nil, "trust", "add", "gha-deploy", "--issuer", ghIssuer, "--audience", "a", "--claim", "sub=x",
		"--user", "bob", "--scope", "tokens:read", "--database", db); err == nil || isUsage(err) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate trust add = %v", err)
	}

	// Piped (no terminal, as under kubectl exec): every column, tab-separated,
	// after the header; -o tsv is the same anywhere.
	wantTSV := "NAME\tISSUER\tAUDIENCE\tCLAIMS\tUSER\tSCOPES\tMAX-LIFETIME\n" +
		"gha-deploy\t" + ghIssuer + "\thttps://tokend.example\tref=refs/heads/main repository=acme/app\tbob\tdeploy:write tokens:read\t30m\n" +
		"gitlab\thttp://127.0.0.1:9999/gl\taud\tproject_path=group/*\talice\ttokens:read\t15m\n"
	for _, args := range [][]string{nil, {"-o", "tsv"}} {
		out, errOut, err := run(t, "", nil, append([]string{"trust", "list", "--database", db}, args...)...)
		if err != nil || out != wantTSV || errOut != "" {
			t.Fatalf("trust list %q = %q, %q, %v; want\n%s", args, out, errOut, err, wantTSV)
		}
	}
	out, _, err := run(t, "", nil, "trust", "list", "-o", "table", "--database", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME ISSUER AUDIENCE CLAIMS USER SCOPES MAX-LIFETIME" ||
		strings.Join(strings.Fields(lines[1]), " ") != "gha-deploy "+ghIssuer+" https://tokend.example ref=refs/heads/main repository=acme/app bob deploy:write tokens:read 30m" ||
		strings.Join(strings.Fields(lines[2]), " ") != "gitlab http://127.0.0.1:9999/gl aud project_path=group/* alice tokens:read 15m" {
		t.Fatalf("trust list -o table =\n%s%v", out, err)
	}
	out, _, err = run(t, "", nil, "trust", "list", "-o", "json", "--database", db)
	var rows []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 {
		t.Fatalf("trust list -o json = %s, %v", out, err)
	}
	var keys []string
	for k := range rows[0] {
		keys = append(keys, k)
	}
	if len(keys) != 8 || rows[0]["name"] != "gha-deploy" || rows[0]["user"] != "bob" || rows[0]["max_lifetime_seconds"] != float64(1800) ||
		rows[0]["issuer"] != ghIssuer || rows[0]["audience"] != "https://tokend.example" {
		t.Fatalf("trust list -o json first row = %v", rows[0])
	}
	var typed []struct {
		Claims []struct{ Claim, Glob string }
		Scopes []string
	}
	_ = json.Unmarshal([]byte(out), &typed)
	if len(typed[0].Claims) != 2 || typed[0].Claims[0].Claim != "ref" || typed[0].Claims[1].Glob != "acme/app" ||
		strings.Join(typed[0].Scopes, ",") != "deploy:write,tokens:read" {
		t.Fatalf("trust list -o json claims/scopes = %+v", typed[0])
	}

	// The scope the policy grants cannot be deleted from under it.
	_, _, err = run(t, "", nil, "scope", "delete", "deploy:write", "--database", db)
	if err == nil || !strings.Contains(err.Error(), "granted by trust policy gha-deploy") || !strings.Contains(err.Error(), "tokend trust delete") {
		t.Fatalf("scope delete while a policy grants it = %v", err)
	}

	if _, errOut, err := run(t, "", nil, "trust", "delete", "gha-deploy", "--database", db); err != nil || !strings.Contains(errOut, "Deleted trust policy gha-deploy") {
		t.Fatalf("trust delete = %q, %v", errOut, err)
	}
	if _, _, err := run(t, "", nil, "trust", "delete", "gha-deploy", "--database", db); err == nil || isUsage(err) || !strings.Contains(err.Error(), "no trust policy") {
		t.Fatalf("deleting a missing policy = %v", err)
	}
	if _, _, err := run(t, "", nil, "scope", "delete", "deploy:write", "--database", db); err != nil {
		t.Fatalf("scope delete once no policy grants it: %v", err)
	}
	// Deleting the user takes their policy along.
	if _, _, err := run(t, "", nil, "user", "delete", "alice", "--database", db); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "", nil, "trust", "list", "-o", "json", "--database", db)
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("trust list after deleting every policy's user = %q, %v; want []", out, err)
	}
	// Empty is never silent: the header on stdout, what to do on stderr.
	for _, args := range [][]string{nil, {"-o", "table"}, {"-o", "tsv"}} {
		out, errOut, err := run(t, "", nil, append([]string{"trust", "list", "--database", db}, args...)...)
		if err != nil || strings.Join(strings.Fields(out), " ") != "NAME ISSUER AUDIENCE CLAIMS USER SCOPES MAX-LIFETIME" ||
			!strings.Contains(errOut, "No trust policies yet; add one with: tokend trust add") {
			t.Fatalf("empty trust list %q = %q, %q, %v", args, out, errOut, err)
		}
	}
}

func TestBadTrustCommandLines(t *testing.T) {
	db := trustDB(t)
	good := func(name string, extra ...string) []string {
		args := []string{"trust", "add", name, "--issuer", ghIssuer, "--audience", "aud", "--claim", "repository=acme/app",
			"--user", "bob", "--scope", "deploy:write"}
		return append(args, extra...)
	}
	without := func(flag string) []string {
		args := good("p")
		for i := range args {
			if args[i] == flag {
				return append(args[:i:i], args[i+2:]...)
			}
		}
		t.Fatalf("no %s", flag)
		return nil
	}
	for _, c := range []struct {
		name   string
		args   []string
		usage  bool
		errHas string
	}{
		{"upper-case name", good("GHA"), true, "malformed"},
		{"name too long", good(strings.Repeat("a", 65)), true, "malformed"},
		{"name with a colon", good("a:b"), true, "malformed"},
		{"no name", []string{"trust", "add"}, true, "tokend trust add NAME"},
		{"no issuer", without("--issuer"), true, "--issuer is required"},
		{"http issuer", good("p", "--issuer", "http://issuer.example"), true, "only https"},
		{"relative issuer", good("p", "--issuer", "issuer.example"), true, "absolute URL"},
		{"issuer with a query", good("p", "--issuer", "https://i.example/?x=1"), true, "query"},
		{"no audience", without("--audience"), true, "--audience is required"},
		{"blank audience", good("p", "--audience", " "), true, "--audience is required"},
		{"no claim", without("--claim"), true, "at least one --claim"},
		{"claim without =", good("p", "--claim", "repository"), true, "KEY=GLOB"},
		{"claim without key", good("p", "--claim", "=x"), true, "KEY=GLOB"},
		{"claim without glob", good("p", "--claim", "sub="), true, "KEY=GLOB"},
		{"claim key with a space", good("p", "--claim", "a b=c"), true, "spaces"},
		{"only stars", append(without("--claim"), "--claim", "sub=*", "--claim", "ref=**"), true, "matches every identity token"},
		{"no user", without("--user"), true, "--user is required"},
		{"no scope", without("--scope"), true, "at least one --scope"},
		{"malformed scope", good("p", "--scope", "Deploy Write"), true, "malformed"},
		{"lifetime too short", good("p", "--max-lifetime", "59s"), true, "outside 1m to 24h"},
		{"lifetime too long", good("p", "--max-lifetime", "25h"), true, "outside 1m to 24h"},
		{"lifetime not whole seconds", good("p", "--max-lifetime", "90.5s"), true, "whole number of seconds"},
		{"lifetime not a duration", good("p", "--max-lifetime", "soon"), true, "invalid"},
		{"list format", []string{"trust", "list", "-o", "yaml"}, true, "table, tsv or json"},
		{"delete without a name", []string{"trust", "delete"}, true, "tokend trust delete NAME"},
		// Refusals that depend on the database: exit 1, like tokend scope delete of an unknown scope.
		{"unknown user", good("p", "--user", "carol"), false, `no user "carol"`},
		{"undefined scope", good("p", "--scope", "registry:push"), false, "scope registry:push is not defined"},
	} {
		_, _, err := run(t, "", nil, append(c.args, "--database", db)...)
		if err == nil || isUsage(err) != c.usage || !strings.Contains(err.Error(), c.errHas) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (usage %v), want a one-line error with %q, usage %v", c.name, err, isUsage(err), c.errHas, c.usage)
		}
	}
	// Nothing was added by any of them.
	st, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ps, err := st.ListTrustPolicies(context.Background()); err != nil || len(ps) != 0 {
		t.Fatalf("policies after refusals: %+v, %v", ps, err)
	}
	// The built-in scopes and a glob that pins something next to a '*' one are fine.
	if _, _, err := run(t, "", nil, append(good("ok", "--scope", "tokens:write", "--claim", "ref=*", "--max-lifetime", "24h"), "--database", db)...); err != nil {
		t.Fatalf("a valid policy: %v", err)
	}
	ps, _ := st.ListTrustPolicies(context.Background())
	if len(ps) != 1 || ps[0].MaxLifetime != 24*time.Hour || len(ps[0].Claims) != 2 || strings.Join(ps[0].Scopes, " ") != "deploy:write tokens:write" {
		t.Fatalf("stored policy = %+v", ps)
	}
}

// A refusal quotes at most a bounded prefix of the bad input, cut between
// characters: the old clip cut at byte 80, in the middle of "é".
func TestTrustRefusalQuotesWholeCharacters(t *testing.T) {
	db := trustDB(t)
	name := "a" + strings.Repeat("é", 100) // byte 80 is inside an é
	_, _, err := run(t, "", nil, "trust", "add", name, "--issuer", ghIssuer, "--audience", "aud",
		"--claim", "repository=acme/app", "--user", "bob", "--scope", "deploy:write", "--database", db)
	if err == nil || !isUsage(err) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	if !utf8.ValidString(err.Error()) || strings.Contains(err.Error(), `\x`) {
		t.Errorf("the refusal cuts a character in half: %q", err)
	}
	if !strings.Contains(err.Error(), "…") {
		t.Errorf("the refusal does not mark the cut: %q", err)
	}
}

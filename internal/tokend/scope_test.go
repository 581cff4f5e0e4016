package tokend

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

func TestScopeCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scopes.db")
	if _, errOut, err := run(t, "", nil, "scope", "add", "deploy:write", "-d", "deploy to production", "--database", db); err != nil || !strings.Contains(errOut, "Added scope deploy:write") {
		t.Fatalf("scope add = %q, %v", errOut, err)
	}
	if _, _, err := run(t, "", map[string]string{"TOKEND_DATABASE": db}, "scope", "add", "app.read"); err != nil {
		t.Fatalf("scope add app.read: %v", err)
	}
	out, _, err := run(t, "", nil, "scope", "list", "--database", db)
	if err != nil || out != "app.read\ndeploy:write\ntokens:read\ntokens:write\n" {
		t.Fatalf("scope list = %q, %v", out, err)
	}
	out, _, err = run(t, "", nil, "scope", "list", "-o", "json", "--database", db)
	var rows []struct {
		Name, Description string
		Builtin           bool
	}
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 4 ||
		rows[1].Name != "deploy:write" || rows[1].Description != "deploy to production" || rows[1].Builtin || !rows[2].Builtin {
		t.Fatalf("scope list -o json = %s, %v", out, err)
	}
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:write", "--database", db); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate scope: %v", err)
	}

	// A live token carrying the scope keeps it from being deleted.
	st, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: "x", CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	tok, _, err := st.CreateToken(context.Background(), store.NewToken{ID: store.NewID(time.Now()), UserID: u.ID, Name: "d", KeyHint: "h",
		Digest: [32]byte{1}, CreatedAt: time.Now().UTC(), ExpiresAt: time.Now().Add(time.Hour).UTC(), Scopes: []string{"deploy:write"}})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, _, err = run(t, "", nil, "scope", "delete", "deploy:write", "--database", db)
	if err == nil || !strings.Contains(err.Error(), "carried by 1 unexpired token") {
		t.Fatalf("deleting a scope in use: %v", err)
	}
	if _, _, err := run(t, "", nil, "scope", "delete", "app.read", "--database", db); err != nil {
		t.Fatalf("scope delete: %v", err)
	}
	if _, _, err := run(t, "", nil, "scope", "delete", "app.read", "--database", db); err == nil || !strings.Contains(err.Error(), "no scope") {
		t.Fatalf("deleting a missing scope: %v", err)
	}
	_ = tok
}

func TestBadScopeCommandLines(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	for _, c := range []struct {
		args   []string
		errHas string
	}{
		{[]string{"scope", "add", "Deploy Write"}, "malformed"},
		{[]string{"scope", "add", strings.Repeat("a", 65)}, "at most 64 characters"},
		{[]string{"scope", "add", "tokens:read"}, "built in"},
		{[]string{"scope", "delete", "tokens:write"}, "built in"},
		// The same argument checks (cmdargs) as every other tokend command:
		// the line to type, and a suggestion for a mistyped verb.
		{[]string{"scope", "add"}, "expected 1 argument, got 0: tokend scope add NAME"},
		{[]string{"scope", "delete", "a", "b"}, "expected 1 argument, got 2: tokend scope delete NAME"},
		{[]string{"scope", "lst"}, "did you mean"},
		{[]string{"trust", "lsit"}, "did you mean"},
		{[]string{"scope", "list", "-o", "yaml"}, "table or json"},
		{[]string{"serve", "--max-tokens-per-user", "0"}, "at least 1"},
	} {
		_, _, err := run(t, "", nil, append(c.args, "--database", db)...)
		if err == nil || !isUsage(err) || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%q: %v, want a usage error with %q", c.args, err, c.errHas)
		}
	}
}

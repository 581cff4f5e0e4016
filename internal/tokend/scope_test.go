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
	if err != nil || out != "admin:read\nadmin:write\napp.read\ndeploy:write\ntokens:introspect\ntokens:read\ntokens:write\n" {
		t.Fatalf("scope list = %q, %v", out, err)
	}
	out, _, err = run(t, "", nil, "scope", "list", "-o", "json", "--database", db)
	var rows []struct {
		Name, Description string
		Builtin           bool
	}
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 7 ||
		rows[3].Name != "deploy:write" || rows[3].Description != "deploy to production" || rows[3].Builtin || !rows[4].Builtin {
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

// TestScopeLifetimeCapCommands: --max-lifetime on add, then set and cleared.
func TestScopeLifetimeCapCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scopes.db")
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:write", "--max-lifetime", "7d", "--database", db); err != nil {
		t.Fatal(err)
	}
	capOf := func() int64 {
		t.Helper()
		out, _, err := run(t, "", nil, "scope", "list", "-o", "json", "--database", db)
		var rows []struct {
			Name        string
			MaxLifetime int64 `json:"max_lifetime_seconds"`
		}
		if err != nil || json.Unmarshal([]byte(out), &rows) != nil {
			t.Fatalf("scope list -o json = %s, %v", out, err)
		}
		for _, r := range rows {
			if r.Name == "deploy:write" {
				return r.MaxLifetime
			}
		}
		t.Fatal("deploy:write not listed")
		return 0
	}
	if got := capOf(); got != 7*24*3600 {
		t.Fatalf("cap after add = %d", got)
	}
	if _, errOut, err := run(t, "", nil, "scope", "set", "deploy:write", "--max-lifetime", "1d", "--database", db); err != nil || !strings.Contains(errOut, "at most 1d") {
		t.Fatalf("scope set = %q, %v", errOut, err)
	}
	if got := capOf(); got != 24*3600 {
		t.Fatalf("cap after set = %d", got)
	}
	if _, _, err := run(t, "", nil, "scope", "set", "deploy:write", "--max-lifetime", "none", "--database", db); err != nil || capOf() != 0 {
		t.Fatalf("clearing the cap: %v", err)
	}
	for _, args := range [][]string{
		{"scope", "set", "deploy:write", "--max-lifetime", "soon"},
		{"scope", "set", "deploy:write"},
		{"scope", "set", "tokens:read", "--max-lifetime", "1d"},
		{"scope", "add", "x:y", "--max-lifetime", "30s"},
	} {
		if _, _, err := run(t, "", nil, append(args, "--database", db)...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
	if _, _, err := run(t, "", nil, "scope", "set", "nope", "--max-lifetime", "1d", "--database", db); err == nil || !strings.Contains(err.Error(), "no scope") {
		t.Errorf("set on an unknown scope: %v", err)
	}
}

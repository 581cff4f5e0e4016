package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Tokens made before scopes existed keep the power they had.
func TestScopesMigrationGivesOldTokensTheirOldPower(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "0003_scopes.sql" {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(m.Version)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UnixNano()
	if _, err := db.Exec(`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u1', 'alice', 'x', ?)`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO tokens (id, user_id, name, key_hint, digest, created_at, expires_at)
		VALUES ('t1', 'u1', 'old', 'h', zeroblob(32), ?, ?)`, now, now+int64(time.Hour)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	tok, err := s.GetToken(context.Background(), "u1", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tokens:read", "tokens:write"}; !slices.Equal(tok.Scopes, want) {
		t.Fatalf("migrated token scopes = %q, want %q", tok.Scopes, want)
	}
}

package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// Events written before migration 0005 read back exactly as they were: no
// trust policy, no claims.
func TestTrustMigrationKeepsOldEvents(t *testing.T) {
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
		if m.Name == "0005_trust.sql" {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(m.Version)); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	if _, err := db.Exec(`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u1', 'alice', 'x', ?)`, toDB(at)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO events (id, user_id, time, type, token_id, token_name, token_key_hint, actor_kind, client_address, source)
		VALUES ('e1', 'u1', ?, 'token.revoked_leaked', 't1', 'ci', 'h', 'leak_report', '192.0.2.1', 'github')`, toDB(at)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	evs, err := s.ListEvents(context.Background(), store.EventListOptions{UserID: "u1", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Event{ID: "e1", UserID: "u1", Time: at, Type: "token.revoked_leaked", TokenID: "t1", TokenName: "ci",
		TokenKeyHint: "h", ActorKind: "leak_report", ClientAddress: "192.0.2.1", Source: "github"}
	if len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
		t.Fatalf("old event after migration = %+v, want %+v", evs, want)
	}
	// The new tables are there and empty.
	if ps, err := s.ListTrustPolicies(context.Background()); err != nil || len(ps) != 0 {
		t.Fatalf("ListTrustPolicies after migration = %+v, %v", ps, err)
	}
}

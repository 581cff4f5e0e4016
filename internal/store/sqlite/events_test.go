package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// TestEventFailureRollsBackTheChange: a change and its event share one
// transaction, so an event that cannot be written leaves the token as it
// was. (An event time SQLite cannot store is the one failure a caller can
// provoke.)
func TestEventFailureRollsBackTheChange(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := seedUser(t, s, "alice")
	ids := bulkInsert(t, s, u, "rollback", 3)
	bad := store.WithAudit(ctx, store.Audit{At: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), ActorKind: store.ActorPassword})
	if err := s.DeleteToken(bad, u.ID, ids[0]); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteToken with an unwritable event: %v", err)
	}
	if _, _, err := s.DeleteTokens(bad, u.ID, ids[1:]); err == nil {
		t.Fatal("DeleteTokens with unwritable events succeeded")
	}
	if _, err := s.RotateToken(bad, u.ID, ids[0], seedDigest("new", 0), "tkn_new…hint", time.Now(), time.Time{}); err == nil {
		t.Fatal("RotateToken with an unwritable event succeeded")
	}
	if _, err := s.RevokeByDigests(bad, [][32]byte{seedDigest("rollback", 0)}, time.Now()); err == nil {
		t.Fatal("RevokeByDigests with an unwritable event succeeded")
	}
	for _, id := range ids {
		tok, err := s.GetToken(context.Background(), u.ID, id)
		if err != nil {
			t.Fatalf("token %s gone after a failed change: %v", id, err)
		}
		if tok.KeyHint == "tkn_new…hint" {
			t.Errorf("token %s rotated although its event failed", id)
		}
	}
	if evs, err := s.ListEvents(ctx, store.EventListOptions{UserID: u.ID, Limit: 10}); err != nil || len(evs) != 0 {
		t.Errorf("events after failed changes: %v, %v", evs, err)
	}
}

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// The server asks for a full page plus one row (store.MaxListLimit) to learn
// whether another page follows; GET /v1/tokens?limit=1000 was a 500 on
// PostgreSQL while the store capped the limit at 1000.
func TestListTokensTakesAFullPagePlusOne(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	u := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "x", CreatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListTokens(ctx, store.ListOptions{UserID: u.ID, Now: now, Limit: store.MaxListLimit}); err != nil {
		t.Fatalf("ListTokens with Limit %d: %v", store.MaxListLimit, err)
	}
	if _, err := s.ListTokens(ctx, store.ListOptions{UserID: u.ID, Now: now, Limit: store.MaxListLimit + 1}); err == nil {
		t.Fatalf("ListTokens with Limit %d succeeded, want an error", store.MaxListLimit+1)
	}
}

package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// The sqlite side of tokend migrate: providers and provisioned users are
// in the snapshot.
func TestExportIncludesSSO(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateSSOProvider(ctx, store.SSOProvider{Name: "corp", Issuer: "https://idp.example", ClientID: "c", ClientSecret: "s",
		UsernameClaim: "sub", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: store.NewID(now), Username: "carol", CreatedAt: now}
	if err := s.CreateSSOUser(ctx, u, "corp"); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.SSOProviders) != 1 || snap.SSOProviders[0].ClientSecret != "s" || len(snap.SSOUsers) != 1 ||
		snap.SSOUsers[0] != (store.SSOUser{UserID: u.ID, Provider: "corp"}) {
		t.Fatalf("snapshot SSO = %+v %+v", snap.SSOProviders, snap.SSOUsers)
	}
}

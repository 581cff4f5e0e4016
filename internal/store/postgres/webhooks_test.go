package postgres

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// tokend migrate carries webhooks (secret included), the outbox and the
// expiry notices already sent: a migrated server neither loses a pending
// delivery nor sends a notice twice.
func TestExportImportCarriesWebhooks(t *testing.T) {
	ctx := context.Background()
	src, err := sqlite.Open(ctx, t.TempDir()+"/src.db")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	alice := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now}
	if err := src.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	w := store.Webhook{Name: "ops", URL: "https://hooks.example.com/x", Format: store.WebhookStandard, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		Events: []string{store.EventTokenExpiring, store.EventUserCreated}, CreatedAt: now}
	if err := src.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.CreateToken(ctx, store.NewToken{ID: store.NewID(now), UserID: alice.ID, Name: "six", KeyHint: "tkn_x…y",
		Digest: [32]byte{1}, CreatedAt: now, ExpiresAt: now.Add(6 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	actx := store.WithAudit(ctx, store.Audit{At: now, ActorKind: store.ActorOperator})
	if n, err := src.NoteExpiries(actx, now, 10); err != nil || n != 1 {
		t.Fatalf("NoteExpiries = %d, %v", n, err)
	}
	// One delivery is half way: claimed, its lease must not travel.
	if _, err := src.ClaimDelivery(ctx, "ops", "old", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	snap, err := src.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Webhooks) != 1 || len(snap.Outbox) != 1 || len(snap.ExpiryNotices) != 1 {
		t.Fatalf("snapshot: %d webhooks, %d outbox rows, %d notices", len(snap.Webhooks), len(snap.Outbox), len(snap.ExpiryNotices))
	}
	dst, _ := openTemp(t)
	res, err := dst.Import(ctx, snap, store.ImportOptions{})
	if err != nil || res.Webhooks != 1 || res.Outbox != 1 || res.ExpiryNotices != 1 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	got, err := dst.WebhookByName(ctx, "ops")
	if err != nil || !reflect.DeepEqual(got, w) {
		t.Fatalf("webhook after import = %+v, %v; want %+v", got, err, w)
	}
	if n, err := dst.NoteExpiries(actx, now, 10); err != nil || n != 0 {
		t.Fatalf("NoteExpiries after import = %d, %v; want 0 (already sent)", n, err)
	}
	d, err := dst.ClaimDelivery(ctx, "ops", "new", now, now.Add(time.Minute))
	if err != nil || d.EventType != store.EventTokenExpiring || d.Attempts != 2 || string(d.Payload) != string(snap.Outbox[0].Payload) {
		t.Fatalf("claim after import = %+v, %v", d, err)
	}
	again, err := dst.Export(ctx)
	if err != nil || len(again.Webhooks) != 1 || !reflect.DeepEqual(again.Webhooks[0], w) || len(again.ExpiryNotices) != 1 ||
		again.ExpiryNotices[0] != snap.ExpiryNotices[0] {
		t.Fatalf("postgres export = %+v, %v", again, err)
	}
}

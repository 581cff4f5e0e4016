package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// BenchmarkAuditedDelete1000 is a bulk delete of 1000 tokens with their
// token.deleted events: the outbox's cost on the busiest event writer,
// with no webhook (one read of an empty table) and with one subscribed
// (1000 deliveries written in the same transaction).
func BenchmarkAuditedDelete1000(b *testing.B) {
	for _, hooked := range []bool{false, true} {
		b.Run(fmt.Sprintf("webhook=%v", hooked), func(b *testing.B) {
			s, _ := openTemp(b)
			u := seedUser(b, s, "alice")
			ctx := store.WithAudit(context.Background(), store.Audit{At: time.Now(), ActorKind: store.ActorOperator})
			if hooked {
				if err := s.CreateWebhook(ctx, store.Webhook{Name: "ops", URL: "https://hooks.example.com/", Format: store.WebhookStandard,
					Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Events: []string{store.EventTokenDeleted}, CreatedAt: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
			round := 0
			for b.Loop() {
				b.StopTimer()
				ids := bulkInsert(b, s, u, fmt.Sprint("round", round), 1000)
				round++
				b.StartTimer()
				if deleted, _, err := s.DeleteTokens(ctx, u.ID, ids); err != nil || len(deleted) != len(ids) {
					b.Fatalf("deleted %d of %d: %v", len(deleted), len(ids), err)
				}
			}
		})
	}
}

// BenchmarkAddEvent is one audit event (a failed sign-in's path), with no
// webhook and with one subscribed.
func BenchmarkAddEvent(b *testing.B) {
	for _, hooked := range []bool{false, true} {
		b.Run(fmt.Sprintf("webhook=%v", hooked), func(b *testing.B) {
			s, _ := openTemp(b)
			u := seedUser(b, s, "alice")
			ctx := context.Background()
			if hooked {
				if err := s.CreateWebhook(ctx, store.Webhook{Name: "ops", URL: "https://hooks.example.com/", Format: store.WebhookStandard,
					Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Events: []string{store.EventAuthFailed}, CreatedAt: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
			a := store.Audit{At: time.Now(), ActorKind: store.ActorPassword, ClientAddress: "192.0.2.1"}
			for b.Loop() {
				e := a.UserEvent(store.EventAuthFailed, u.ID, "")
				e.Reason = "wrong password"
				if err := s.AddEvents(ctx, []store.Event{e}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// BenchmarkAddEvent is one audit event (a failed sign-in's path): the
// outbox costs one more round trip with no webhook, and a second
// statement when one is subscribed.
func BenchmarkAddEvent(b *testing.B) {
	for _, hooked := range []bool{false, true} {
		b.Run(fmt.Sprintf("webhook=%v", hooked), func(b *testing.B) {
			s, _ := openTemp(b)
			ctx := context.Background()
			now := time.Now().UTC()
			u := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			if hooked {
				if err := s.CreateWebhook(ctx, store.Webhook{Name: "ops", URL: "https://hooks.example.com/", Format: store.WebhookStandard,
					Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Events: []string{store.EventAuthFailed}, CreatedAt: now}); err != nil {
					b.Fatal(err)
				}
			}
			a := store.Audit{At: now, ActorKind: store.ActorPassword, ClientAddress: "192.0.2.1"}
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

package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// BenchmarkAuditedDeleteTokens1000 deletes 1000 tokens in one call, without and
// with an Audit (1000 events in the same transaction), alternating rounds
// so both see the same machine: the difference is the event write cost.
func BenchmarkAuditedDeleteTokens1000(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	u := seedUser(b, s, "alice")
	audit := store.Audit{ActorKind: store.ActorToken, ActorTokenID: store.NewID(time.Now()), ActorTokenName: "laptop",
		ClientAddress: "192.0.2.1", UserAgent: "tokenctl/1.0"}
	round := 0
	for _, audited := range []bool{false, true} {
		b.Run(fmt.Sprintf("audited=%v", audited), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				ids := bulkInsert(b, s, u, fmt.Sprint("round", round), 1000)
				round++
				ctx := context.Background()
				if audited {
					a := audit
					a.At = time.Now()
					ctx = store.WithAudit(ctx, a)
				}
				b.StartTimer()
				if deleted, _, err := s.DeleteTokens(ctx, u.ID, ids); err != nil || len(deleted) != 1000 {
					b.Fatalf("DeleteTokens: %d, %v", len(deleted), err)
				}
			}
		})
	}
}

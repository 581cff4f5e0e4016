package tokend

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// TestPrunerDeletesOnlyExpiredEvents runs the pruner loop on a real store
// holding more expired events than one batch, and events inside retention.
func TestPrunerDeletesOnlyExpiredEvents(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
	u := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	const retention = 400 * 24 * time.Hour
	var evs []store.Event
	add := func(n int, at time.Time) {
		for range n {
			evs = append(evs, store.Event{ID: store.NewEventID(at), UserID: u.ID, Time: at, Type: store.EventAuthFailed, ActorKind: store.ActorPassword})
		}
	}
	add(2*pruneBatch+7, now.Add(-retention-time.Hour)) // expired: three batches
	add(5, now.Add(-retention+time.Hour))              // kept
	if err := st.AddEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runPruner(pctx, st, retention, time.Hour, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := st.ListEvents(ctx, store.EventListOptions{UserID: u.ID, Limit: store.MaxEventListLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 5 {
			for _, e := range left {
				if e.Time.Before(now.Add(-retention)) {
					t.Errorf("expired event %s kept", e.ID)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s, %d events left, want 5", len(left))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the pruner did not stop when its context ended")
	}
}

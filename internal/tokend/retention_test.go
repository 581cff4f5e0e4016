package tokend

import (
	"context"
	"crypto/sha256"
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

// TestUnusedSweepExpiresIdleTokensWithAFakeClock: tokens unused for the
// window are expired in batches, each with an event; used and young ones
// are left; a second sweep finds nothing.
func TestUnusedSweepExpiresIdleTokensWithAFakeClock(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC) // the fake clock
	const after = 90 * 24 * time.Hour
	u := store.User{ID: store.NewID(now), Username: "alice", PasswordHash: "h", CreatedAt: now.Add(-400 * 24 * time.Hour)}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	mk := func(created time.Time) store.Token {
		d := sha256.Sum256([]byte(store.NewID(created) + created.String()))
		tok, _, err := st.CreateToken(ctx, store.NewToken{ID: store.NewID(created), UserID: u.ID, Name: "t", KeyHint: "h",
			Digest: d, CreatedAt: created, ExpiresAt: now.Add(200 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	old := now.Add(-100 * 24 * time.Hour)
	idle := expireUnusedBatch + 3 // two batches
	for range idle {
		mk(old)
	}
	used := mk(old)
	if err := st.TouchToken(ctx, used.ID, now.Add(-10*24*time.Hour), time.Minute); err != nil {
		t.Fatal(err)
	}
	young := mk(now.Add(-5 * 24 * time.Hour))

	n, err := expireUnused(ctx, st, after, now)
	if err != nil || n != idle {
		t.Fatalf("sweep expired %d, %v; want %d", n, err, idle)
	}
	if n, err := expireUnused(ctx, st, after, now); err != nil || n != 0 {
		t.Fatalf("second sweep expired %d, %v; want 0", n, err)
	}
	for _, id := range []string{used.ID, young.ID} {
		tok, err := st.GetToken(ctx, u.ID, id)
		if err != nil || tok.Expired(now) {
			t.Errorf("token %s after the sweep: expired %v, %v; want it kept", id, tok.Expired(now), err)
		}
	}
	evs, err := st.ListEvents(ctx, store.EventListOptions{UserID: u.ID, Types: []string{store.EventTokenExpiredUnused}, Limit: store.MaxEventListLimit})
	if err != nil || len(evs) != idle || evs[0].ActorKind != store.ActorOperator {
		t.Fatalf("%d expired_unused events, %v; want %d by the operator", len(evs), err, idle)
	}
}

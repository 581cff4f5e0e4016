package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two Stores on one database stand in for two replicas: a burst of
// concurrent checks spread over both admits exactly limit of them, and the
// failures they settle block the key for both.
func TestLoginThrottleSharedBudget(t *testing.T) {
	a, u := openTemp(t)
	b, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	const limit, window = 10, time.Minute
	now := time.Now()

	var admitted atomic.Int64
	var wg sync.WaitGroup
	starts := make(chan time.Time, 40)
	for i := range 40 {
		st := []*Store{a, b}[i%2]
		wg.Go(func() {
			w, ok, err := st.ReserveLogin(ctx, "198.51.100.7", now, window, limit)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				admitted.Add(1)
				starts <- w.Start
			} else if w.Failures+w.Pending < limit {
				t.Errorf("refused with %d failures and %d pending, under the limit %d", w.Failures, w.Pending, limit)
			}
		})
	}
	wg.Wait()
	close(starts)
	if n := admitted.Load(); n != limit {
		t.Fatalf("%d checks admitted at once across two stores, want exactly %d", n, limit)
	}
	i := 0
	for start := range starts {
		if err := []*Store{a, b}[i%2].SettleLogin(ctx, "198.51.100.7", start, true, now.Add(time.Second), window); err != nil {
			t.Fatal(err)
		}
		i++
	}
	for _, st := range []*Store{a, b} {
		ws, err := st.BlockedLogins(ctx, now.Add(2*time.Second), window, limit, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != 1 || ws[0].Key != "198.51.100.7" || ws[0].Failures != limit || ws[0].Pending != 0 {
			t.Fatalf("blocked windows = %+v, want 198.51.100.7 with %d failures, none pending", ws, limit)
		}
		if _, ok, err := st.ReserveLogin(ctx, "198.51.100.7", now.Add(2*time.Second), window, limit); ok || err != nil {
			t.Fatalf("a check past the limit was admitted (%v, %v)", ok, err)
		}
	}
	// Another key has its own budget.
	if _, ok, err := b.ReserveLogin(ctx, "198.51.100.8", now, window, limit); !ok || err != nil {
		t.Fatalf("another address was refused (%v, %v)", ok, err)
	}

	// Once the window has ended the key starts afresh, and the prune drops
	// the ended window.
	later := now.Add(window + time.Second)
	w, ok, err := a.ReserveLogin(ctx, "198.51.100.7", later, window, limit)
	if err != nil || !ok || w.Failures != 0 || w.Pending != 1 || !w.Start.Equal(micros(later).UTC()) {
		t.Fatalf("after the window: %+v admitted=%v err=%v, want a fresh window at %s", w, ok, err, later.UTC())
	}
	if err := a.SettleLogin(ctx, "198.51.100.7", w.Start, false, later, window); err != nil {
		t.Fatal(err)
	}
	a.pruned.Store(0)
	if _, err := a.BlockedLogins(ctx, later.Add(window), window, limit, 100); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM tokend_login_failures`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("%d rows left after pruning ended windows, want 0", rows)
	}
}

// A check that fails after its window ended counts in the key's current
// window, as the in-memory limiter does.
func TestLoginThrottleLateFailureCountsNow(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	w, ok, err := s.ReserveLogin(ctx, "k", now, time.Minute, 3)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	later := now.Add(2 * time.Minute)
	if err := s.SettleLogin(ctx, "k", w.Start, true, later, time.Minute); err != nil {
		t.Fatal(err)
	}
	cur, err := s.CountLoginFailure(ctx, "k", later, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Failures != 2 || cur.Pending != 0 || !cur.Start.Equal(micros(later).UTC()) {
		t.Fatalf("current window %+v, want 2 failures in a window opened at %s", cur, later.UTC())
	}
}

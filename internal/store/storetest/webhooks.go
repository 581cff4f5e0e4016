package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// hook adds a webhook named name receiving types.
func (f *fixture) hook(name string, types ...string) store.Webhook {
	f.t.Helper()
	w := store.Webhook{Name: name, URL: "https://hooks.example.com/" + name, Events: types, Format: store.WebhookStandard,
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: epoch}
	if err := f.s.CreateWebhook(f.ctx, w); err != nil {
		f.t.Fatalf("CreateWebhook(%s): %v", name, err)
	}
	return w
}

// status returns the webhook's row of ListWebhooks.
func (f *fixture) status(name string) store.WebhookStatus {
	f.t.Helper()
	ws, err := f.s.ListWebhooks(f.ctx)
	if err != nil {
		f.t.Fatalf("ListWebhooks: %v", err)
	}
	for _, w := range ws {
		if w.Name == name {
			return w
		}
	}
	f.t.Fatalf("ListWebhooks has no %s: %+v", name, ws)
	return store.WebhookStatus{}
}

// claimAll claims every delivery due at now for webhook, leasing each for a
// minute, and returns them.
func claimAll(t *testing.T, s store.Store, webhook, owner string, now time.Time) []store.Delivery {
	t.Helper()
	var out []store.Delivery
	for {
		d, err := s.ClaimDelivery(t.Context(), webhook, owner, now, now.Add(time.Minute))
		if errors.Is(err, store.ErrNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("ClaimDelivery(%s): %v", webhook, err)
		}
		out = append(out, d)
	}
}

func testWebhooks(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("webhooks are added, listed without secrets, found and deleted", func(t *testing.T) {
		f := newFixture(t, newStore)
		w := f.hook("ops", store.EventTokenRevokedLeaked, store.EventTokenCreated)
		if err := f.s.CreateWebhook(f.ctx, w); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second CreateWebhook = %v, want ErrConflict", err)
		}
		got, err := f.s.WebhookByName(f.ctx, "ops")
		if err != nil {
			t.Fatal(err)
		}
		want := w
		want.Events = []string{store.EventTokenCreated, store.EventTokenRevokedLeaked}
		if got.Name != want.Name || got.URL != want.URL || got.Secret != want.Secret || got.Format != want.Format ||
			!got.CreatedAt.Equal(epoch) || !slices.Equal(got.Events, want.Events) {
			t.Fatalf("WebhookByName = %+v, want %+v", got, want)
		}
		st := f.status("ops")
		if st.Secret != "" || !slices.Equal(st.Events, want.Events) || st.Pending != 0 || st.LastError != "" {
			t.Fatalf("ListWebhooks row = %+v", st)
		}
		if err := f.s.DeleteWebhook(f.ctx, "ops"); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteWebhook(f.ctx, "ops"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second DeleteWebhook = %v, want ErrNotFound", err)
		}
		if _, err := f.s.WebhookByName(f.ctx, "ops"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("WebhookByName after delete = %v, want ErrNotFound", err)
		}
	})

	t.Run("an event writes one delivery per subscribed webhook in its transaction", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		f.hook("leaks", store.EventTokenRevokedLeaked)
		f.hook("all", store.EventTokenRevokedLeaked, store.EventTokenCreated)
		actx := store.WithAudit(f.ctx, testAudit)
		tok, digest := f.token(alice, "ci") // no Audit: no event, no delivery
		if got, err := f.s.RevokeByDigests(actx, [][32]byte{digest}, testAudit.At); err != nil || len(got) != 1 {
			t.Fatalf("RevokeByDigests = %v, %v", got, err)
		}
		now := testAudit.At
		due, err := f.s.DueWebhooks(f.ctx, now)
		if err != nil || !slices.Equal(due, []string{"all", "leaks"}) {
			t.Fatalf("DueWebhooks = %v, %v; want [all leaks]", due, err)
		}
		if got, err := f.s.DueWebhooks(f.ctx, now.Add(-time.Millisecond)); err != nil || len(got) != 0 {
			t.Fatalf("DueWebhooks before the event = %v, %v; want none", got, err)
		}
		for _, w := range []string{"leaks", "all"} {
			ds := claimAll(t, f.s, w, "r1", now)
			if len(ds) != 1 {
				t.Fatalf("%s: %d deliveries, want 1", w, len(ds))
			}
			d := ds[0]
			evs := f.events(alice, 10)
			if len(evs) != 1 || d.EventID != evs[0].ID || d.EventType != store.EventTokenRevokedLeaked || d.Attempts != 1 || !d.CreatedAt.Equal(now) {
				t.Fatalf("%s: delivery %+v; event %+v", w, d, evs)
			}
			var p store.WebhookPayload
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				t.Fatalf("payload %s: %v", d.Payload, err)
			}
			if p.Type != store.EventTokenRevokedLeaked || !p.Timestamp.Equal(now) || p.Data.ID != d.EventID || p.Data.User != "alice" ||
				p.Data.Token == nil || p.Data.Token.ID != tok.ID || p.Data.Token.KeyHint != tok.KeyHint {
				t.Fatalf("payload = %s", d.Payload)
			}
			if err := f.s.FinishDelivery(f.ctx, d, "r1", store.DeliveryResult{At: now, Delivered: true}); err != nil {
				t.Fatal(err)
			}
			if st := f.status(w); st.Pending != 0 || st.Delivered != 1 || st.LastError != "" {
				t.Fatalf("%s after delivery: %+v", w, st)
			}
		}
		// A type nobody receives writes nothing.
		if err := f.s.AddEvents(f.ctx, []store.Event{testAudit.UserEvent(store.EventUserDisabled, alice.ID, "")}); err != nil {
			t.Fatal(err)
		}
		if due, _ := f.s.DueWebhooks(f.ctx, now.Add(time.Hour)); len(due) != 0 {
			t.Fatalf("DueWebhooks after an unsubscribed event = %v", due)
		}
	})

	t.Run("an event that rolls back leaves no delivery", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		f.hook("ops", store.EventUserCreated)
		good := testAudit.UserEvent(store.EventUserCreated, alice.ID, "")
		bad := testAudit.UserEvent(store.EventUserCreated, store.NewID(epoch), "") // no such user
		if err := f.s.AddEvents(f.ctx, []store.Event{good, bad}); err == nil {
			t.Fatal("AddEvents with an unknown user succeeded")
		}
		if due, err := f.s.DueWebhooks(f.ctx, epoch.Add(24*time.Hour)); err != nil || len(due) != 0 {
			t.Fatalf("DueWebhooks after a rolled-back event = %v, %v; want none", due, err)
		}
		if st := f.status("ops"); st.Pending != 0 {
			t.Fatalf("pending after rollback = %d", st.Pending)
		}
		if err := f.s.AddEvents(f.ctx, []store.Event{good}); err != nil {
			t.Fatal(err)
		}
		if st := f.status("ops"); st.Pending != 1 {
			t.Fatalf("pending after a committed event = %d, want 1", st.Pending)
		}
	})

	t.Run("a claim is leased; an expired lease is reclaimed and the old owner's result refused", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		f.hook("ops", store.EventUserCreated)
		if err := f.s.AddEvents(f.ctx, []store.Event{testAudit.UserEvent(store.EventUserCreated, alice.ID, "")}); err != nil {
			t.Fatal(err)
		}
		now := testAudit.At
		lease := now.Add(time.Minute)
		d, err := f.s.ClaimDelivery(f.ctx, "ops", "r1", now, lease)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.ClaimDelivery(f.ctx, "ops", "r2", now.Add(30*time.Second), lease); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim of a leased row = %v, want ErrNotFound", err)
		}
		// A renewed lease holds past its first term.
		if err := f.s.RenewLease(f.ctx, d, "r1", lease.Add(time.Minute)); err != nil {
			t.Fatalf("RenewLease: %v", err)
		}
		if _, err := f.s.ClaimDelivery(f.ctx, "ops", "r2", lease, lease.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim of a renewed lease = %v, want ErrNotFound", err)
		}
		if err := f.s.RenewLease(f.ctx, d, "r2", lease.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RenewLease by a non-owner = %v, want ErrNotFound", err)
		}
		lease = lease.Add(time.Minute)
		if due, _ := f.s.DueWebhooks(f.ctx, now.Add(30*time.Second)); len(due) != 0 {
			t.Fatalf("DueWebhooks while leased = %v", due)
		}
		// r1 died: at the lease's end r2 takes the row, same id, one more attempt.
		d2, err := f.s.ClaimDelivery(f.ctx, "ops", "r2", lease, lease.Add(time.Minute))
		if err != nil {
			t.Fatalf("reclaim after the lease: %v", err)
		}
		if d2.EventID != d.EventID || d2.Attempts != 2 {
			t.Fatalf("reclaimed %+v after %+v", d2, d)
		}
		if err := f.s.FinishDelivery(f.ctx, d, "r1", store.DeliveryResult{At: lease, Delivered: true}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FinishDelivery by the lost owner = %v, want ErrNotFound", err)
		}
		if err := f.s.RenewLease(f.ctx, d, "r1", lease.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RenewLease by the lost owner = %v, want ErrNotFound", err)
		}
		// A failure is retried at NextAttempt, not before.
		next := lease.Add(10 * time.Second)
		if err := f.s.FinishDelivery(f.ctx, d2, "r2", store.DeliveryResult{At: lease, NextAttempt: next, Error: "HTTP 500"}); err != nil {
			t.Fatal(err)
		}
		if st := f.status("ops"); st.Pending != 1 || st.LastError != "HTTP 500" || !st.LastErrorAt.Equal(lease) {
			t.Fatalf("after a failure: %+v", st)
		}
		if _, err := f.s.ClaimDelivery(f.ctx, "ops", "r2", next.Add(-time.Microsecond), next.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim before the next attempt = %v, want ErrNotFound", err)
		}
		d3, err := f.s.ClaimDelivery(f.ctx, "ops", "r2", next, next.Add(time.Minute))
		if err != nil || d3.Attempts != 3 {
			t.Fatalf("claim at the next attempt = %+v, %v", d3, err)
		}
		if err := f.s.FinishDelivery(f.ctx, d3, "r2", store.DeliveryResult{At: next, GiveUp: true, Error: "HTTP 503"}); err != nil {
			t.Fatal(err)
		}
		if st := f.status("ops"); st.Pending != 0 || st.Failed != 1 || st.LastError != "HTTP 503" {
			t.Fatalf("after giving up: %+v", st)
		}
		if _, err := f.s.ClaimDelivery(f.ctx, "ops", "r2", next.Add(time.Hour), next.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim of a failed row = %v, want ErrNotFound", err)
		}
		if n, err := f.s.PruneDeliveries(f.ctx, testAudit.At.Add(time.Microsecond), 10); err != nil || n != 1 {
			t.Fatalf("PruneDeliveries = %d, %v; want 1", n, err)
		}
		if st := f.status("ops"); st.Failed != 0 {
			t.Fatalf("after pruning: %+v", st)
		}
	})

	t.Run("deleting a webhook drops its deliveries", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		f.hook("ops", store.EventUserCreated)
		if err := f.s.AddEvents(f.ctx, []store.Event{testAudit.UserEvent(store.EventUserCreated, alice.ID, "")}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteWebhook(f.ctx, "ops"); err != nil {
			t.Fatal(err)
		}
		f.hook("ops", store.EventUserCreated)
		if due, _ := f.s.DueWebhooks(f.ctx, testAudit.At); len(due) != 0 {
			t.Fatalf("DueWebhooks after delete and re-add = %v", due)
		}
	})

	t.Run("expiry notices are recorded once each, with their events", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		f.hook("ops", store.EventTokenExpiring, store.EventTokenExpired)
		now := epoch.Add(time.Hour)
		day := 24 * time.Hour
		mk := func(name string, created, expires time.Time) store.Token {
			nt := newToken(alice, name)
			nt.CreatedAt, nt.ExpiresAt = created, expires
			return f.create(nt)
		}
		six := mk("six-days", epoch, now.Add(6*day))
		soon := mk("half-day", epoch.Add(-3*day), now.Add(12*time.Hour))
		gone := mk("expired", epoch.Add(-10*day), now.Add(-time.Hour))
		mk("short-lived", epoch, epoch.Add(day))             // a day's lifetime: no notices
		mk("far", epoch, now.Add(30*day))                    // not yet
		mk("long-gone", epoch.Add(-40*day), now.Add(-8*day)) // expired before the lookback
		a := store.Audit{At: now, ActorKind: store.ActorOperator}
		actx := store.WithAudit(f.ctx, a)
		n, err := f.s.NoteExpiries(actx, now, 100)
		if err != nil || n != 3 {
			t.Fatalf("NoteExpiries = %d, %v; want 3", n, err)
		}
		if n, err := f.s.NoteExpiries(actx, now.Add(time.Minute), 100); err != nil || n != 0 {
			t.Fatalf("second NoteExpiries = %d, %v; want 0", n, err)
		}
		got := map[string]string{}
		for _, e := range f.events(alice, 10) {
			got[e.TokenID] = e.Type + " " + e.Reason + " " + e.Detail
		}
		want := map[string]string{
			six.ID:  store.EventTokenExpiring + " 7d " + six.ExpiresAt.Format(time.RFC3339),
			soon.ID: store.EventTokenExpiring + " 1d " + soon.ExpiresAt.Format(time.RFC3339),
			gone.ID: store.EventTokenExpired + "  " + gone.ExpiresAt.Format(time.RFC3339),
		}
		if !maps.Equal(got, want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
		if st := f.status("ops"); st.Pending != 3 {
			t.Fatalf("pending deliveries = %d, want 3", st.Pending)
		}
		// Five days on, six-days gets its day's notice, half-day its expiry.
		if n, err := f.s.NoteExpiries(actx, now.Add(5*day+time.Hour), 100); err != nil || n != 2 {
			t.Fatalf("NoteExpiries five days on = %d, %v; want 2", n, err)
		}
		// Batches: a limit of 1 notes one per notice per call.
		bob := f.user("bob")
		for _, name := range []string{"b1", "b2"} {
			nt := newToken(bob, name)
			nt.ExpiresAt = now.Add(3 * day)
			f.create(nt)
		}
		if n, err := f.s.NoteExpiries(actx, now, 1); err != nil || n != 1 {
			t.Fatalf("NoteExpiries limit 1 = %d, %v; want 1", n, err)
		}
		if n, err := f.s.NoteExpiries(actx, now, 1); err != nil || n != 1 {
			t.Fatalf("NoteExpiries limit 1 again = %d, %v; want 1", n, err)
		}
	})
}

// RunShared runs the conformance tests that need two stores on one
// database (two replicas): open returns both, owning their cleanup.
func RunShared(t *testing.T, open func(t *testing.T) (store.Store, store.Store)) {
	t.Run("two replicas never claim the same delivery", func(t *testing.T) {
		a, b := open(t)
		f := &fixture{t: t, ctx: t.Context(), s: a}
		alice := f.user("alice")
		f.hook("ops", store.EventUserCreated)
		const n = 200
		evs := make([]store.Event, n)
		for i := range evs {
			evs[i] = testAudit.UserEvent(store.EventUserCreated, alice.ID, "")
		}
		if err := a.AddEvents(f.ctx, evs); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for i := range 8 {
			s, owner := []store.Store{a, b}[i%2], fmt.Sprint("r", i+1)
			wg.Go(func() {
				for {
					d, err := s.ClaimDelivery(t.Context(), "ops", owner, testAudit.At, testAudit.At.Add(time.Minute))
					if errors.Is(err, store.ErrNotFound) {
						return
					}
					if err != nil {
						t.Errorf("%s: ClaimDelivery: %v", owner, err)
						return
					}
					mu.Lock()
					if prev, dup := seen[d.EventID]; dup {
						t.Errorf("delivery %s claimed by %s and %s", d.EventID, prev, owner)
					}
					seen[d.EventID] = owner
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		// A claimer that lost a race may stop early; what is left is
		// still claimable once, by anyone.
		for _, d := range claimAll(t, b, "ops", "r9", testAudit.At) {
			if prev, dup := seen[d.EventID]; dup {
				t.Errorf("delivery %s claimed by %s and r9", d.EventID, prev)
			}
			seen[d.EventID] = "r9"
		}
		if len(seen) != n {
			t.Fatalf("claimed %d deliveries, want %d", len(seen), n)
		}
	})

	t.Run("two replicas sweeping at once record one expiry notice", func(t *testing.T) {
		a, b := open(t)
		f := &fixture{t: t, ctx: t.Context(), s: a}
		alice := f.user("alice")
		now := epoch.Add(time.Hour)
		for _, name := range []string{"t1", "t2", "t3"} {
			nt := newToken(alice, name)
			nt.ExpiresAt = now.Add(6 * 24 * time.Hour)
			f.create(nt)
		}
		actx := store.WithAudit(f.ctx, store.Audit{At: now, ActorKind: store.ActorOperator})
		var wg sync.WaitGroup
		counts := make([]int, 6)
		for i := range counts {
			s := []store.Store{a, b}[i%2]
			wg.Go(func() {
				n, err := s.NoteExpiries(actx, now, 100)
				if err != nil {
					t.Errorf("NoteExpiries: %v", err)
				}
				counts[i] = n
			})
		}
		wg.Wait()
		total := 0
		for _, c := range counts {
			total += c
		}
		if total != 3 {
			t.Fatalf("notices recorded %v (total %d), want 3 in all", counts, total)
		}
		if evs := f.events(alice, 10); len(evs) != 3 {
			t.Fatalf("%d events, want 3: %+v", len(evs), evs)
		}
	})
}

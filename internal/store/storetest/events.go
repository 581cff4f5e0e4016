package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// testAudit is the actor of the suite's audited calls.
var testAudit = store.Audit{
	At:             epoch.Add(time.Hour),
	ActorKind:      store.ActorToken,
	ActorTokenID:   "01jactor0000000000000000000",
	ActorTokenName: "laptop",
	ClientAddress:  "192.0.2.7",
	UserAgent:      "tokenctl/1.0",
}

func testEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("mutations record their events in the same call", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		actx := store.WithAudit(f.ctx, testAudit)

		// Without an Audit nothing is recorded.
		plain, plainDigest := f.token(alice, "plain")
		if evs := f.events(alice, 100); len(evs) != 0 {
			t.Fatalf("events without an Audit: %+v", evs)
		}

		nt := newToken(alice, "ci")
		nt.IdempotencyKey, nt.RequestHash = "k1", [32]byte{1}
		created, _, err := f.s.CreateToken(actx, nt)
		if err != nil {
			t.Fatal(err)
		}
		nt.Digest = randomDigest()
		if _, replayed, err := f.s.CreateToken(actx, nt); err != nil || !replayed {
			t.Fatalf("replay: replayed=%v, %v", replayed, err)
		}
		rotated, err := f.s.RotateToken(actx, alice.ID, created.ID, randomDigest(), "tkn_rot…ated", epoch.Add(time.Minute), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteToken(actx, alice.ID, created.ID); err != nil {
			t.Fatal(err)
		}
		a, _ := f.token(alice, "a")
		b, _ := f.token(alice, "b")
		bobs, _ := f.token(bob, "bobs")
		deleted, notFound, err := f.s.DeleteTokens(actx, alice.ID, []string{a.ID, bobs.ID, b.ID, "nonsense"})
		if err != nil || len(deleted) != 2 || len(notFound) != 2 {
			t.Fatalf("DeleteTokens = %v, %v, %v", deleted, notFound, err)
		}
		// Failed calls record nothing.
		if err := f.s.DeleteToken(actx, alice.ID, bobs.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteToken of bob's token as alice: %v", err)
		}
		if _, err := f.s.RotateToken(actx, alice.ID, bobs.ID, randomDigest(), "x", epoch, time.Time{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RotateToken of bob's token as alice: %v", err)
		}

		got := f.events(alice, 2)
		want := []struct {
			typ string
			tok store.Token
		}{
			{store.EventTokenCreated, created},
			{store.EventTokenRotated, rotated},
			{store.EventTokenDeleted, rotated},
			{store.EventTokenDeleted, a},
			{store.EventTokenDeleted, b},
		}
		if len(got) != len(want) {
			t.Fatalf("alice has %d events, want %d: %+v", len(got), len(want), got)
		}
		// Same-instant events (the bulk delete) have no order among them.
		slices.Reverse(got)
		if got[3].TokenID != a.ID {
			got[3], got[4] = got[4], got[3]
		}
		for i, w := range want {
			e := got[i]
			if e.Type != w.typ || e.TokenID != w.tok.ID || e.TokenName != w.tok.Name || e.TokenKeyHint != w.tok.KeyHint {
				t.Errorf("event %d = %s %s %q %q, want %s %s %q %q", i, e.Type, e.TokenID, e.TokenName, e.TokenKeyHint,
					w.typ, w.tok.ID, w.tok.Name, w.tok.KeyHint)
			}
			if e.UserID != alice.ID || e.ActorKind != testAudit.ActorKind || e.ActorTokenID != testAudit.ActorTokenID ||
				e.ActorTokenName != testAudit.ActorTokenName || e.ClientAddress != testAudit.ClientAddress ||
				e.UserAgent != testAudit.UserAgent || e.Source != "" || e.Reason != "" {
				t.Errorf("event %d actor/client = %+v", i, e)
			}
			checkTime(t, fmt.Sprintf("event %d Time", i), e.Time, testAudit.At)
			if len(e.ID) != 26 || e.ID < created.ID {
				t.Errorf("event %d id %q", i, e.ID)
			}
		}
		if evs := f.events(bob, 100); len(evs) != 0 {
			t.Errorf("bob sees alice's events or his own untouched token's: %+v", evs)
		}
		// Events outlive their tokens and go with their user.
		f.mustFind(plainDigest, plain.ID)
		if err := f.s.DeleteUser(f.ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if evs := f.events(alice, 100); len(evs) != 0 {
			t.Errorf("a deleted user's events remain: %d", len(evs))
		}
	})

	t.Run("list filters and pages", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		var all []store.Event
		for i := range 30 {
			typ := []string{store.EventTokenCreated, store.EventTokenDeleted, store.EventAuthFailed}[i%3]
			at := epoch.Add(time.Duration(i) * time.Minute)
			e := store.Event{ID: store.NewEventID(at), UserID: alice.ID, Time: at, Type: typ, ActorKind: store.ActorPassword,
				TokenID: []string{"", "tok-a", "tok-b"}[i%3], Reason: "r"}
			all = append(all, e)
		}
		if err := f.s.AddEvents(f.ctx, all); err != nil {
			t.Fatal(err)
		}
		ids := func(evs []store.Event) []string {
			var out []string
			for _, e := range evs {
				out = append(out, e.ID)
			}
			return out
		}
		var wantAll []string
		for _, e := range all {
			wantAll = append(wantAll, e.ID)
		}
		if got := ids(f.eventsWith(store.EventListOptions{UserID: alice.ID, Limit: 7})); !equalIDs(got, sortedDesc(wantAll)) {
			t.Errorf("paged list = %v, want %v", got, sortedDesc(wantAll))
		}
		sel := func(keep func(i int, e store.Event) bool) []string {
			var out []string
			for i, e := range all {
				if keep(i, e) {
					out = append(out, e.ID)
				}
			}
			return sortedDesc(out)
		}
		cases := []struct {
			name string
			opts store.EventListOptions
			want []string
		}{
			{"token", store.EventListOptions{TokenID: "tok-a"}, sel(func(i int, _ store.Event) bool { return i%3 == 1 })},
			{"types", store.EventListOptions{Types: []string{store.EventTokenCreated, store.EventAuthFailed}},
				sel(func(i int, _ store.Event) bool { return i%3 != 1 })},
			{"since until", store.EventListOptions{Since: epoch.Add(5 * time.Minute), Until: epoch.Add(10 * time.Minute)},
				sel(func(i int, _ store.Event) bool { return i >= 5 && i < 10 })},
			{"all filters", store.EventListOptions{TokenID: "tok-b", Types: []string{store.EventAuthFailed}, Since: epoch.Add(20 * time.Minute)},
				sel(func(i int, _ store.Event) bool { return i%3 == 2 && i >= 20 })},
			{"far bounds", store.EventListOptions{Since: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
				sortedDesc(wantAll)},
		}
		for _, c := range cases {
			c.opts.UserID, c.opts.Limit = alice.ID, 4
			if got := ids(f.eventsWith(c.opts)); !equalIDs(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
		for _, limit := range []int{0, store.MaxEventListLimit + 1} {
			if _, err := f.s.ListEvents(f.ctx, store.EventListOptions{UserID: alice.ID, Limit: limit}); err == nil {
				t.Errorf("ListEvents with limit %d succeeded", limit)
			}
		}
		if err := f.s.AddEvents(f.ctx, []store.Event{{ID: store.NewID(epoch), UserID: "nobody", Time: epoch, Type: "x", ActorKind: "y"}}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddEvents for an unknown user: %v, want ErrNotFound", err)
		}

		// Prune removes only what is older than the cut-off, oldest first,
		// at most limit a call.
		cut := epoch.Add(10 * time.Minute)
		n, err := f.s.PruneEvents(f.ctx, cut, 4)
		if err != nil || n != 4 {
			t.Fatalf("PruneEvents = %d, %v; want 4", n, err)
		}
		left := ids(f.eventsWith(store.EventListOptions{UserID: alice.ID, Limit: 100}))
		if !equalIDs(left, sortedDesc(wantAll[4:])) {
			t.Errorf("after pruning 4 the oldest should be gone: %v", left)
		}
		if n, err := f.s.PruneEvents(f.ctx, cut, 100); err != nil || n != 6 {
			t.Fatalf("second PruneEvents = %d, %v; want 6", n, err)
		}
		if n, err := f.s.PruneEvents(f.ctx, cut, 100); err != nil || n != 0 {
			t.Fatalf("third PruneEvents = %d, %v; want 0", n, err)
		}
	})

	t.Run("revoke by digest", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a1, d1 := f.token(alice, "a1")
		a2, d2 := f.token(alice, "a2")
		b1, d3 := f.token(bob, "b1")
		leak := testAudit
		leak.ActorKind, leak.ActorTokenID, leak.ActorTokenName, leak.Source = store.ActorLeakReport, "", "", "https://paste.example/x"
		got, err := f.s.RevokeByDigests(store.WithAudit(f.ctx, leak), [][32]byte{d1, randomDigest(), d3, d1}, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("RevokeByDigests deleted %d tokens, want 2: %+v", len(got), got)
		}
		owners := map[string]string{}
		for _, tok := range got {
			owners[tok.ID] = tok.UserID
		}
		if owners[a1.ID] != alice.ID || owners[b1.ID] != bob.ID {
			t.Errorf("revoked tokens and owners = %v", owners)
		}
		f.mustNotFind(d1, "revoke")
		f.mustNotFind(d3, "revoke")
		f.mustFind(d2, a2.ID)
		for _, u := range []struct {
			user store.User
			tok  store.Token
		}{{alice, a1}, {bob, b1}} {
			evs := f.events(u.user, 10)
			if len(evs) != 1 {
				t.Fatalf("%s has %d events, want 1", u.user.Username, len(evs))
			}
			e := evs[0]
			if e.Type != store.EventTokenRevokedLeaked || e.TokenID != u.tok.ID || e.TokenKeyHint != u.tok.KeyHint ||
				e.ActorKind != store.ActorLeakReport || e.Source != leak.Source || e.ClientAddress != leak.ClientAddress {
				t.Errorf("%s's event = %+v", u.user.Username, e)
			}
		}
		if got, err := f.s.RevokeByDigests(f.ctx, nil, epoch); err != nil || len(got) != 0 {
			t.Errorf("RevokeByDigests(nil) = %v, %v", got, err)
		}
	})

	t.Run("revoke by digest skips a token expired at now", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "old")
		nt.ExpiresAt = epoch.Add(time.Hour)
		old := f.create(nt)
		live, dl := f.token(alice, "live")
		leak := testAudit
		leak.ActorKind, leak.ActorTokenID, leak.ActorTokenName = store.ActorLeakReport, "", ""
		before := len(f.events(alice, 10))
		// At the expiry instant the token is already dead.
		got, err := f.s.RevokeByDigests(store.WithAudit(f.ctx, leak), [][32]byte{nt.Digest, dl}, nt.ExpiresAt)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != live.ID {
			t.Fatalf("RevokeByDigests = %+v, want only the live token %s", got, live.ID)
		}
		evs := f.events(alice, 10)
		if len(evs) != before+1 {
			t.Fatalf("%d new events, want 1 (none for the expired token)", len(evs)-before)
		}
		for _, e := range evs {
			if e.Type == store.EventTokenRevokedLeaked && e.TokenID == old.ID {
				t.Fatalf("an expired token got a revoked_leaked event: %+v", e)
			}
		}
	})
}

// testNoUserEvents: an event with no UserID (a failed SSO sign-in of
// someone with no account, a provider error) is kept in no user's trail:
// listed for AnyUser only, untouched by a user's deletion, exported and
// imported as it is.
func testNoUserEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	alice := f.user("alice")
	at := epoch.Add(time.Hour)
	orphan := store.Event{ID: store.NewEventID(at), Time: at, Type: store.EventAuthFailed, ActorKind: store.ActorSSO,
		TrustPolicy: "corp", Claims: map[string]string{"sub": "248289761001", "email": "eve@example.com"},
		Reason: "unknown user", ClientAddress: "192.0.2.9", UserAgent: "Mozilla/5.0"}
	mine := store.Event{ID: store.NewEventID(at), UserID: alice.ID, Time: at, Type: store.EventAuthFailed,
		ActorKind: store.ActorSSO, TrustPolicy: "corp", Reason: "not allowed"}
	if err := f.s.AddEvents(f.ctx, []store.Event{orphan, mine}); err != nil {
		t.Fatalf("AddEvents with no user: %v", err)
	}
	check := func(what string, got store.Event) {
		t.Helper()
		if got.ID != orphan.ID || got.UserID != "" || got.Type != orphan.Type || got.ActorKind != store.ActorSSO ||
			got.TrustPolicy != "corp" || got.Reason != "unknown user" || got.ClientAddress != orphan.ClientAddress ||
			len(got.Claims) != 2 || got.Claims["email"] != "eve@example.com" || got.Claims["sub"] != "248289761001" {
			t.Fatalf("%s: %+v, want %+v", what, got, orphan)
		}
		checkTime(t, what+" time", got.Time, at)
	}
	all := f.eventsWith(store.EventListOptions{UserID: store.AnyUser, Limit: 10})
	if len(all) != 2 || all[0].ID != mine.ID {
		t.Fatalf("everyone's events = %+v, want alice's and the one with no user", all)
	}
	check("listed for AnyUser", all[1])
	if typed := f.eventsWith(store.EventListOptions{UserID: store.AnyUser, Types: []string{store.EventAuthFailed}, Limit: 1}); len(typed) != 2 {
		t.Fatalf("everyone's auth.failed = %d events, want 2", len(typed))
	}
	if evs := f.events(alice, 10); len(evs) != 1 || evs[0].ID != mine.ID {
		t.Fatalf("alice's trail = %+v, want only hers", evs)
	}
	if err := f.s.DeleteUser(f.ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	all = f.eventsWith(store.EventListOptions{UserID: store.AnyUser, Limit: 10})
	if len(all) != 1 {
		t.Fatalf("after alice's deletion: %+v, want the event with no user alone", all)
	}
	check("after a user's deletion", all[0])

	exp, ok := f.s.(store.Exporter)
	if !ok {
		t.Fatal("the store does not implement store.Exporter")
	}
	snap, err := exp.Export(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Events) != 1 {
		t.Fatalf("exported %d events, want 1", len(snap.Events))
	}
	check("exported", snap.Events[0])
	imp, ok := newStore(t).(store.Importer)
	if !ok {
		return // only some backends are import targets
	}
	if res, err := imp.Import(f.ctx, snap, store.ImportOptions{}); err != nil || res.Events != 1 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	got, err := imp.(store.Store).ListEvents(f.ctx, store.EventListOptions{UserID: store.AnyUser, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("imported events = %+v, %v", got, err)
	}
	check("imported", got[0])
}

// events pages through all of u's events, pageSize at a time.
func (f *fixture) events(u store.User, pageSize int) []store.Event {
	return f.eventsWith(store.EventListOptions{UserID: u.ID, Limit: pageSize})
}

// eventsWith pages through every event opts selects, opts.Limit at a time.
func (f *fixture) eventsWith(opts store.EventListOptions) []store.Event {
	f.t.Helper()
	var out []store.Event
	for {
		page, err := f.s.ListEvents(f.ctx, opts)
		if err != nil {
			f.t.Fatalf("ListEvents(%+v): %v", opts, err)
		}
		out = append(out, page...)
		if len(page) < opts.Limit {
			return out
		}
		opts.BeforeID = page[len(page)-1].ID
	}
}

// testUnusedSince: ListOptions.UnusedBefore keeps tokens never used or last
// used before it, with the other filters and paging.
func testUnusedSince(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	alice := f.user("alice")
	never, _ := f.token(alice, "never")
	old, _ := f.token(alice, "old")
	recent, _ := f.token(alice, "recent")
	edge, _ := f.token(alice, "edge")
	cut := epoch.Add(90 * 24 * time.Hour)
	for id, at := range map[string]time.Time{old.ID: epoch.Add(time.Hour), recent.ID: cut.Add(time.Hour), edge.ID: cut} {
		if err := f.s.TouchToken(f.ctx, id, at, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	opts := store.ListOptions{UserID: alice.ID, Now: cut, Limit: 1, UnusedBefore: cut}
	if got, want := f.listAll(opts), sortedDesc([]string{never.ID, old.ID}); !equalIDs(got, want) {
		t.Errorf("unused before %s = %v, want never and old %v", cut, got, want)
	}
	opts.NameGlob = "n*"
	if got := f.listAll(opts); !equalIDs(got, []string{never.ID}) {
		t.Errorf("unused and named n* = %v, want %v", got, []string{never.ID})
	}
}

package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

func testRoles(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("a new user is a member and a person, enabled", func(t *testing.T) {
		f := newFixture(t, newStore)
		if err := f.s.CreateUser(f.ctx, store.User{ID: store.NewID(epoch), Username: "alice", PasswordHash: "h", CreatedAt: epoch}); err != nil {
			t.Fatal(err)
		}
		u, err := f.s.UserByName(f.ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != store.RoleMember || u.Kind != store.KindPerson || u.Disabled || !u.DisabledAt.IsZero() {
			t.Errorf("new user = role %q kind %q disabled %v at %v; want member, person, enabled", u.Role, u.Kind, u.Disabled, u.DisabledAt)
		}
	})

	t.Run("CreateUser keeps role and kind; a bad role is refused", func(t *testing.T) {
		f := newFixture(t, newStore)
		svc := store.User{ID: store.NewID(epoch), Username: "jenkins", PasswordHash: "", CreatedAt: epoch, Role: store.RoleAdmin, Kind: store.KindService}
		if err := f.s.CreateUser(f.ctx, svc); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.UserByID(f.ctx, svc.ID)
		if err != nil || got.Role != store.RoleAdmin || got.Kind != store.KindService || got.Username != "jenkins" {
			t.Fatalf("UserByID = %+v, %v; want the admin service account", got, err)
		}
		bad := store.User{ID: store.NewID(epoch), Username: "bob", PasswordHash: "h", CreatedAt: epoch, Role: "root"}
		if err := f.s.CreateUser(f.ctx, bad); err == nil {
			t.Fatal("CreateUser with role root succeeded")
		}
		if _, err := f.s.UserByID(f.ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(nobody) = %v, want ErrNotFound", err)
		}
	})

	t.Run("SetUserRole changes the role everywhere the user is read", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		_, digest := f.token(alice, "laptop")
		if err := f.s.SetUserRole(f.ctx, "alice", store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		_, owner, err := f.s.TokenByDigest(f.ctx, digest)
		if err != nil || owner.Role != store.RoleAdmin {
			t.Fatalf("TokenByDigest owner role = %q, %v; want admin", owner.Role, err)
		}
		users, err := f.s.ListUsers(f.ctx)
		if err != nil || len(users) != 1 || !users[0].IsAdmin() {
			t.Fatalf("ListUsers = %+v, %v; want alice as admin", users, err)
		}
		if err := f.s.SetUserRole(f.ctx, "alice", store.RoleMember); err != nil {
			t.Fatal(err)
		}
		if u, _ := f.s.UserByName(f.ctx, "alice"); u.Role != store.RoleMember {
			t.Errorf("after demotion role = %q, want member", u.Role)
		}
		if err := f.s.SetUserRole(f.ctx, "bob", store.RoleAdmin); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetUserRole(bob) = %v, want ErrNotFound", err)
		}
		if err := f.s.SetUserRole(f.ctx, "alice", "owner"); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetUserRole(owner) = %v, want a validation error", err)
		}
	})

	t.Run("disabling is one write the token lookup sees; enabling undoes it", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		_, digest := f.token(alice, "laptop")
		// Read once first, so a backend that caches lookups is exercised.
		if _, owner, err := f.s.TokenByDigest(f.ctx, digest); err != nil || owner.Disabled {
			t.Fatalf("before: owner disabled = %v, %v", owner.Disabled, err)
		}
		at := epoch.Add(time.Hour)
		if err := f.s.SetUserDisabled(f.ctx, "alice", true, at); err != nil {
			t.Fatal(err)
		}
		_, owner, err := f.s.TokenByDigest(f.ctx, digest)
		if err != nil || !owner.Disabled {
			t.Fatalf("after disable: owner disabled = %v, %v; want true", owner.Disabled, err)
		}
		checkTime(t, "DisabledAt", owner.DisabledAt, at)
		// Disabling again keeps the first time.
		if err := f.s.SetUserDisabled(f.ctx, "alice", true, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		u, err := f.s.UserByName(f.ctx, "alice")
		if err != nil || !u.Disabled {
			t.Fatalf("UserByName disabled = %v, %v", u.Disabled, err)
		}
		checkTime(t, "DisabledAt after a second disable", u.DisabledAt, at)
		if err := f.s.SetUserDisabled(f.ctx, "alice", false, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, owner, err := f.s.TokenByDigest(f.ctx, digest); err != nil || owner.Disabled || !owner.DisabledAt.IsZero() {
			t.Fatalf("after enable: owner = %+v, %v; want enabled", owner, err)
		}
		if err := f.s.SetUserDisabled(f.ctx, "bob", true, at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetUserDisabled(bob) = %v, want ErrNotFound", err)
		}
	})

	t.Run("user events go to the user's trail with the admin as actor", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		ctx := store.WithAudit(f.ctx, store.Audit{At: epoch, ActorKind: store.ActorToken, ActorUser: "root"})
		if err := f.s.SetUserRole(ctx, "alice", store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetUserDisabled(ctx, "alice", true, epoch); err != nil {
			t.Fatal(err)
		}
		evs, err := f.s.ListEvents(f.ctx, store.EventListOptions{UserID: alice.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Type+"/"+e.ActorUser+"/"+e.Detail)
		}
		want := []string{store.EventUserDisabled + "/root/", store.EventUserRoleChanged + "/root/role admin"}
		if !slices.Equal(got, want) {
			t.Errorf("alice's events = %q, want %q", got, want)
		}
	})
}

func testAdmin(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("AnyUser lists, gets and deletes every user's tokens", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a, _ := f.token(alice, "a")
		b, _ := f.token(bob, "b")
		ids := f.listAll(store.ListOptions{UserID: store.AnyUser, Limit: 1, Now: epoch})
		want := []string{a.ID, b.ID}
		slices.Sort(want)
		slices.Reverse(want) // newest first
		if !slices.Equal(ids, want) {
			t.Fatalf("ListTokens(AnyUser) = %v, want %v", ids, want)
		}
		page, next, err := f.s.ScanTokens(f.ctx, store.ListOptions{UserID: store.AnyUser, Limit: 10, Now: epoch, MaxScan: 10, Status: store.StatusActive})
		if err != nil || len(page) != 2 || next != "" {
			t.Fatalf("ScanTokens(AnyUser) = %d tokens, next %q, %v; want 2, \"\"", len(page), next, err)
		}
		if got, err := f.s.GetToken(f.ctx, store.AnyUser, b.ID); err != nil || got.UserID != bob.ID {
			t.Fatalf("GetToken(AnyUser, bob's) = %+v, %v", got, err)
		}
		// A user's own scope is unchanged.
		if _, err := f.s.GetToken(f.ctx, alice.ID, b.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetToken(alice, bob's) = %v, want ErrNotFound", err)
		}
		ctx := store.WithAudit(f.ctx, store.Audit{At: epoch, ActorKind: store.ActorToken, ActorUser: "root"})
		deleted, notFound, err := f.s.DeleteTokens(ctx, store.AnyUser, []string{a.ID, b.ID, "nope"})
		if err != nil || !slices.Equal(deleted, []string{a.ID, b.ID}) || !slices.Equal(notFound, []string{"nope"}) {
			t.Fatalf("DeleteTokens(AnyUser) = %v, %v, %v", deleted, notFound, err)
		}
		// Each deletion lands in its owner's trail, naming the admin.
		evs, err := f.s.ListEvents(f.ctx, store.EventListOptions{UserID: bob.ID, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].ActorUser != "root" || evs[0].TokenID != b.ID {
			t.Fatalf("bob's events = %+v, %v; want one deletion by root", evs, err)
		}
		all, err := f.s.ListEvents(f.ctx, store.EventListOptions{UserID: store.AnyUser, Limit: 10})
		if err != nil || len(all) != 2 {
			t.Fatalf("ListEvents(AnyUser) = %d events, %v; want 2", len(all), err)
		}
	})

	t.Run("ExpiresBefore keeps tokens expiring before it", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		soon := newToken(alice, "soon")
		soon.ExpiresAt = epoch.Add(24 * time.Hour)
		s := f.create(soon)
		f.token(alice, "later")
		ids := f.listAll(store.ListOptions{UserID: store.AnyUser, Limit: 10, Now: epoch, ExpiresBefore: epoch.Add(7 * 24 * time.Hour)})
		if !slices.Equal(ids, []string{s.ID}) {
			t.Fatalf("ExpiresBefore listing = %v, want [%s]", ids, s.ID)
		}
	})

	t.Run("ExpireUnused expires old unused tokens in batches, each with an event", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		var unused []string
		for range 3 {
			tok, _ := f.token(alice, "idle")
			unused = append(unused, tok.ID)
		}
		used, _ := f.token(alice, "busy")
		if err := f.s.TouchToken(f.ctx, used.ID, epoch.Add(80*24*time.Hour), time.Minute); err != nil {
			t.Fatal(err)
		}
		young := newToken(alice, "young")
		young.CreatedAt, young.ExpiresAt = epoch.Add(95*24*time.Hour), epoch.Add(200*24*time.Hour)
		f.create(young)
		now := epoch.Add(20 * 24 * time.Hour)
		before := now.Add(-10 * 24 * time.Hour)
		ctx := store.WithAudit(f.ctx, store.Audit{At: now, ActorKind: store.ActorOperator})
		first, err := f.s.ExpireUnused(ctx, before, now, 2)
		if err != nil || len(first) != 2 {
			t.Fatalf("first batch = %d, %v; want 2", len(first), err)
		}
		second, err := f.s.ExpireUnused(ctx, before, now, 2)
		if err != nil || len(second) != 1 {
			t.Fatalf("second batch = %d, %v; want 1", len(second), err)
		}
		if third, err := f.s.ExpireUnused(ctx, before, now, 2); err != nil || len(third) != 0 {
			t.Fatalf("third batch = %d, %v; want 0", len(third), err)
		}
		var got []string
		for _, tok := range append(first, second...) {
			got = append(got, tok.ID)
		}
		slices.Sort(got)
		slices.Sort(unused)
		if !slices.Equal(got, unused) {
			t.Errorf("expired %v, want the idle ones %v", got, unused)
		}
		tok, err := f.s.GetToken(f.ctx, alice.ID, unused[0])
		if err != nil || !tok.Expired(now) {
			t.Errorf("idle token after the sweep = %+v, %v; want expired at now", tok, err)
		}
		evs, err := f.s.ListEvents(f.ctx, store.EventListOptions{UserID: alice.ID, Types: []string{store.EventTokenExpiredUnused}, Limit: 10})
		if err != nil || len(evs) != 3 {
			t.Errorf("expired_unused events = %d, %v; want 3", len(evs), err)
		}
	})

	t.Run("a scope's lifetime cap is stored, changed and cleared", func(t *testing.T) {
		f := newFixture(t, newStore)
		if err := f.s.CreateScope(f.ctx, store.Scope{Name: "deploy:write", CreatedAt: epoch, MaxLifetime: 7 * 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		check := func(want time.Duration) {
			t.Helper()
			scs, err := f.s.ListScopes(f.ctx)
			if err != nil || len(scs) != 1 || scs[0].MaxLifetime != want {
				t.Fatalf("ListScopes = %+v, %v; want max lifetime %s", scs, err, want)
			}
		}
		check(7 * 24 * time.Hour)
		if err := f.s.SetScopeMaxLifetime(f.ctx, "deploy:write", time.Hour); err != nil {
			t.Fatal(err)
		}
		check(time.Hour)
		if err := f.s.SetScopeMaxLifetime(f.ctx, "deploy:write", 0); err != nil {
			t.Fatal(err)
		}
		check(0)
		if err := f.s.SetScopeMaxLifetime(f.ctx, "nope", time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetScopeMaxLifetime(nope) = %v, want ErrNotFound", err)
		}
	})
}

package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

func testUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("created user is found by name with every field", func(t *testing.T) {
		f := newFixture(t, newStore)
		// A non-UTC input time must come back as the same instant in UTC.
		created := epoch.In(time.FixedZone("IST", 5*3600+1800))
		want := store.User{ID: store.NewID(epoch), Username: "alice", PasswordHash: "hash-of-alice", CreatedAt: created}
		if err := f.s.CreateUser(f.ctx, want); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		got, err := f.s.UserByName(f.ctx, "alice")
		if err != nil {
			t.Fatalf("UserByName: %v", err)
		}
		if got.ID != want.ID || got.Username != want.Username || got.PasswordHash != want.PasswordHash {
			t.Errorf("UserByName = %+v, want %+v", got, want)
		}
		checkTime(t, "CreatedAt", got.CreatedAt, created)
	})

	t.Run("taken username is ErrConflict", func(t *testing.T) {
		f := newFixture(t, newStore)
		first := f.user("alice")
		err := f.s.CreateUser(f.ctx, store.User{ID: store.NewID(epoch), Username: "alice", PasswordHash: "other", CreatedAt: epoch})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second CreateUser(alice) = %v, want ErrConflict", err)
		}
		got, err := f.s.UserByName(f.ctx, "alice")
		if err != nil || got.ID != first.ID || got.PasswordHash != first.PasswordHash {
			t.Fatalf("after conflict UserByName = %+v, %v; want the first user unchanged", got, err)
		}
	})

	t.Run("unknown username is ErrNotFound", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.user("alice")
		for _, name := range []string{"bob", "", "alice ", "ALICE"} {
			if _, err := f.s.UserByName(f.ctx, name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UserByName(%q) = %v, want ErrNotFound", name, err)
			}
		}
	})

	t.Run("ListUsers is empty on a new store", func(t *testing.T) {
		f := newFixture(t, newStore)
		users, err := f.s.ListUsers(f.ctx)
		if err != nil || len(users) != 0 {
			t.Fatalf("ListUsers = %v, %v; want none", users, err)
		}
	})

	t.Run("ListUsers is ordered by username", func(t *testing.T) {
		f := newFixture(t, newStore)
		for _, name := range []string{"carol", "alice", "dave", "bob"} {
			f.user(name)
		}
		users, err := f.s.ListUsers(f.ctx)
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		var names []string
		for _, u := range users {
			names = append(names, u.Username)
			checkTime(t, u.Username+" CreatedAt", u.CreatedAt, epoch)
		}
		if want := []string{"alice", "bob", "carol", "dave"}; !equalIDs(names, want) {
			t.Fatalf("ListUsers order = %v, want %v", names, want)
		}
	})

	t.Run("DeleteUser removes the user and a second delete is ErrNotFound", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.user("alice")
		bob := f.user("bob")
		if err := f.s.DeleteUser(f.ctx, "alice"); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		if _, err := f.s.UserByName(f.ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UserByName after delete = %v, want ErrNotFound", err)
		}
		if err := f.s.DeleteUser(f.ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second DeleteUser = %v, want ErrNotFound", err)
		}
		users, err := f.s.ListUsers(f.ctx)
		if err != nil || len(users) != 1 || users[0].ID != bob.ID {
			t.Fatalf("ListUsers after delete = %+v, %v; want only bob", users, err)
		}
	})

	t.Run("DeleteUser of an unknown user is ErrNotFound", func(t *testing.T) {
		f := newFixture(t, newStore)
		if err := f.s.DeleteUser(f.ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteUser(nobody) = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteUser removes their tokens and only theirs", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a1, d1 := f.token(alice, "a1")
		_, d2 := f.token(alice, "a2")
		b1, bd := f.token(bob, "b1")
		if err := f.s.DeleteUser(f.ctx, "alice"); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		f.mustNotFind(d1, "deleting the owner")
		f.mustNotFind(d2, "deleting the owner")
		if _, err := f.s.GetToken(f.ctx, alice.ID, a1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetToken of a deleted user's token = %v, want ErrNotFound", err)
		}
		if err := f.s.TouchToken(f.ctx, a1.ID, epoch, time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TouchToken of a deleted user's token = %v, want ErrNotFound", err)
		}
		f.mustFind(bd, b1.ID)
		if ids := f.listAll(store.ListOptions{UserID: bob.ID, Limit: 10}); !equalIDs(ids, []string{b1.ID}) {
			t.Fatalf("bob's tokens after deleting alice = %v, want [%s]", ids, b1.ID)
		}
		// A new user with the old name starts with nothing.
		alice2 := f.user("alice")
		if ids := f.listAll(store.ListOptions{UserID: alice2.ID, Limit: 10}); len(ids) != 0 {
			t.Fatalf("re-created alice has tokens %v", ids)
		}
	})
}

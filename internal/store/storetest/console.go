package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// testConsole covers the token console's browser sessions.
func testConsole(t *testing.T, newStore func(t *testing.T) store.Store) {
	const idle = 30 * time.Minute
	session := func(u store.User) store.ConsoleSession {
		return store.ConsoleSession{Digest: randomDigest(), UserID: u.ID, CreatedAt: epoch, LastSeen: epoch, ExpiresAt: epoch.Add(8 * time.Hour)}
	}

	t.Run("a session is found by its digest and touched on use", func(t *testing.T) {
		f := newFixture(t, newStore)
		u := f.user("alice")
		cs := session(u)
		if err := f.s.CreateConsoleSession(f.ctx, cs); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.UseConsoleSession(f.ctx, cs.Digest, epoch.Add(20*time.Minute), idle)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != u.ID || !got.CreatedAt.Equal(epoch) || !got.ExpiresAt.Equal(cs.ExpiresAt) || !got.LastSeen.Equal(epoch) {
			t.Errorf("UseConsoleSession = %+v, want the stored session %+v", got, cs)
		}
		// 20 minutes after the first use is 40 after creation: still alive,
		// because the first use moved last_seen.
		got, err = f.s.UseConsoleSession(f.ctx, cs.Digest, epoch.Add(40*time.Minute), idle)
		if err != nil {
			t.Fatalf("second use within the idle limit of the first: %v", err)
		}
		if !got.LastSeen.Equal(epoch.Add(20 * time.Minute)) {
			t.Errorf("LastSeen = %s, want the first use's time", got.LastSeen)
		}
		if err := f.s.CreateConsoleSession(f.ctx, cs); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a second session with the same digest: %v, want ErrConflict", err)
		}
	})

	t.Run("an idle session ends and is deleted", func(t *testing.T) {
		f := newFixture(t, newStore)
		cs := session(f.user("alice"))
		if err := f.s.CreateConsoleSession(f.ctx, cs); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.UseConsoleSession(f.ctx, cs.Digest, epoch.Add(idle), idle); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("use after the idle limit: %v, want ErrNotFound", err)
		}
		// Deleted, not only refused: going back in time finds nothing.
		if _, err := f.s.UseConsoleSession(f.ctx, cs.Digest, epoch.Add(time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the idle session is still stored: %v", err)
		}
	})

	t.Run("the absolute limit ends a session in use", func(t *testing.T) {
		f := newFixture(t, newStore)
		cs := session(f.user("alice"))
		if err := f.s.CreateConsoleSession(f.ctx, cs); err != nil {
			t.Fatal(err)
		}
		at := epoch
		for at.Add(20 * time.Minute).Before(cs.ExpiresAt) {
			at = at.Add(20 * time.Minute)
			if _, err := f.s.UseConsoleSession(f.ctx, cs.Digest, at, idle); err != nil {
				t.Fatalf("use at %s: %v", at, err)
			}
		}
		if _, err := f.s.UseConsoleSession(f.ctx, cs.Digest, cs.ExpiresAt, idle); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("use at the absolute expiry: %v, want ErrNotFound", err)
		}
	})

	t.Run("sign-out deletes; deleting a user deletes their sessions", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a, b := session(alice), session(bob)
		for _, cs := range []store.ConsoleSession{a, b} {
			if err := f.s.CreateConsoleSession(f.ctx, cs); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.s.DeleteConsoleSession(f.ctx, a.Digest); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteConsoleSession(f.ctx, a.Digest); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second sign-out: %v, want ErrNotFound", err)
		}
		if _, err := f.s.UseConsoleSession(f.ctx, a.Digest, epoch.Add(time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("use after sign-out: %v, want ErrNotFound", err)
		}
		if err := f.s.DeleteUser(f.ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.UseConsoleSession(f.ctx, b.Digest, epoch.Add(time.Minute), idle); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("use after the user was deleted: %v, want ErrNotFound", err)
		}
	})

	t.Run("a session of an unknown user is refused", func(t *testing.T) {
		f := newFixture(t, newStore)
		cs := session(store.User{ID: store.NewID(epoch)})
		if err := f.s.CreateConsoleSession(f.ctx, cs); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateConsoleSession for nobody: %v, want ErrNotFound", err)
		}
	})

	t.Run("creating a session forgets expired ones", func(t *testing.T) {
		f := newFixture(t, newStore)
		u := f.user("alice")
		old := session(u)
		old.ExpiresAt = epoch.Add(time.Hour)
		if err := f.s.CreateConsoleSession(f.ctx, old); err != nil {
			t.Fatal(err)
		}
		fresh := session(u)
		fresh.CreatedAt, fresh.LastSeen, fresh.ExpiresAt = epoch.Add(2*time.Hour), epoch.Add(2*time.Hour), epoch.Add(10*time.Hour)
		if err := f.s.CreateConsoleSession(f.ctx, fresh); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteConsoleSession(f.ctx, old.Digest); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the expired session is still stored: %v", err)
		}
	})
}

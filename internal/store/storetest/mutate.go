package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

func testDelete(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("DeleteToken removes the token and its digest stops matching", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		doomed, d := f.token(alice, "doomed")
		kept, kd := f.token(alice, "kept")
		if err := f.s.DeleteToken(f.ctx, alice.ID, doomed.ID); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		f.mustNotFind(d, "DeleteToken")
		if _, err := f.s.GetToken(f.ctx, alice.ID, doomed.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetToken after delete = %v, want ErrNotFound", err)
		}
		if err := f.s.DeleteToken(f.ctx, alice.ID, doomed.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second DeleteToken = %v, want ErrNotFound", err)
		}
		f.mustFind(kd, kept.ID)
	})

	t.Run("DeleteToken of another user's token is ErrNotFound and keeps it", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a, ad := f.token(alice, "a")
		if err := f.s.DeleteToken(f.ctx, bob.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob deleting alice's token = %v, want ErrNotFound", err)
		}
		f.mustFind(ad, a.ID)
		if err := f.s.DeleteToken(f.ctx, alice.ID, store.NewID(epoch)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteToken(unknown id) = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteTokens reports own, unknown, malformed, another user's and repeated ids in input order", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a1, d1 := f.token(alice, "a1")
		a2, d2 := f.token(alice, "a2")
		a3, d3 := f.token(alice, "a3")
		untouched, du := f.token(alice, "untouched")
		b1, bd := f.token(bob, "b1")
		unknown := store.NewID(epoch)

		ids := []string{a2.ID, unknown, b1.ID, a1.ID, a2.ID, "", a3.ID, "not/an id'", b1.ID}
		deleted, notFound, err := f.s.DeleteTokens(f.ctx, alice.ID, ids)
		if err != nil {
			t.Fatalf("DeleteTokens: %v", err)
		}
		if want := []string{a2.ID, a1.ID, a3.ID}; !equalIDs(deleted, want) {
			t.Errorf("deleted = %v, want %v", deleted, want)
		}
		if want := []string{unknown, b1.ID, a2.ID, "", "not/an id'", b1.ID}; !equalIDs(notFound, want) {
			t.Errorf("not found = %v, want %v", notFound, want)
		}
		for _, d := range [][32]byte{d1, d2, d3} {
			f.mustNotFind(d, "DeleteTokens")
		}
		f.mustFind(du, untouched.ID)
		f.mustFind(bd, b1.ID)
		if got := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 10}); !equalIDs(got, []string{untouched.ID}) {
			t.Errorf("alice's tokens after DeleteTokens = %v, want only %s", got, untouched.ID)
		}
	})

	t.Run("DeleteTokens of nothing deletes nothing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		a, ad := f.token(alice, "a")
		for _, ids := range [][]string{nil, {}} {
			deleted, notFound, err := f.s.DeleteTokens(f.ctx, alice.ID, ids)
			if err != nil || len(deleted) != 0 || len(notFound) != 0 {
				t.Fatalf("DeleteTokens(%v) = %v, %v, %v; want nothing", ids, deleted, notFound, err)
			}
		}
		f.mustFind(ad, a.ID)
	})

	t.Run("DeleteTokens of a thousand ids deletes them all", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		n := 1000
		if testing.Short() {
			n = 100
		}
		var ids []string
		for i := 0; i < n; i++ {
			nt := newToken(alice, "bulk")
			f.create(nt)
			ids = append(ids, nt.ID)
		}
		deleted, notFound, err := f.s.DeleteTokens(f.ctx, alice.ID, ids)
		if err != nil || len(notFound) != 0 || !equalIDs(deleted, ids) {
			t.Fatalf("DeleteTokens = %d deleted, %d not found, %v; want %d deleted", len(deleted), len(notFound), err, n)
		}
		if left := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 1000}); len(left) != 0 {
			t.Fatalf("%d tokens left", len(left))
		}
	})
}

func testRotate(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("rotate swaps the secret, restarts the lifetime and keeps the rest", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "ci")
		nt.ExpiresAt = epoch.Add(90*24*time.Hour + 1500*time.Microsecond) // an odd lifetime
		f.create(nt)
		if err := f.s.TouchToken(f.ctx, nt.ID, epoch.Add(time.Hour), time.Minute); err != nil {
			t.Fatalf("TouchToken: %v", err)
		}

		now := epoch.Add(40*24*time.Hour + 7*time.Microsecond).In(time.FixedZone("X", -3*3600))
		newDigest := randomDigest()
		got, err := f.s.RotateToken(f.ctx, alice.ID, nt.ID, newDigest, "tkn_new…hint", now, time.Time{})
		if err != nil {
			t.Fatalf("RotateToken: %v", err)
		}
		w := want(nt)
		w.KeyHint = "tkn_new…hint"
		w.CreatedAt = now
		w.ExpiresAt = now.Add(nt.ExpiresAt.Sub(nt.CreatedAt))
		w.LastUsedAt = nil // the new secret has not been used
		checkToken(t, "RotateToken", got, w)

		f.mustNotFind(nt.Digest, "rotation")
		byDigest := f.mustFind(newDigest, nt.ID)
		checkToken(t, "TokenByDigest after rotation", byDigest, w)
		stored, err := f.s.GetToken(f.ctx, alice.ID, nt.ID)
		if err != nil {
			t.Fatalf("GetToken: %v", err)
		}
		checkToken(t, "GetToken after rotation", stored, w)
	})

	t.Run("rotate keeps the new expiry within notAfter", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "child")
		nt.ExpiresAt = epoch.Add(24 * time.Hour)
		f.create(nt)
		now := epoch.Add(time.Minute)
		notAfter := epoch.Add(12 * time.Hour)
		got, err := f.s.RotateToken(f.ctx, alice.ID, nt.ID, randomDigest(), "h", now, notAfter)
		if err != nil {
			t.Fatalf("RotateToken: %v", err)
		}
		checkTime(t, "ExpiresAt capped", got.ExpiresAt, notAfter)
		checkTime(t, "CreatedAt", got.CreatedAt, now)
		// A cap later than now plus the lifetime (12h less a minute since
		// the capped rotation) changes nothing.
		later := now.Add(time.Hour)
		got, err = f.s.RotateToken(f.ctx, alice.ID, nt.ID, randomDigest(), "h", later, later.Add(48*time.Hour))
		if err != nil {
			t.Fatalf("RotateToken: %v", err)
		}
		checkTime(t, "ExpiresAt under a late cap", got.ExpiresAt, later.Add(notAfter.Sub(now)))
	})

	t.Run("rotating an expired token is ErrExpired and changes nothing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "old")
		nt.ExpiresAt = epoch.Add(time.Hour)
		f.create(nt)
		for _, now := range []time.Time{nt.ExpiresAt, epoch.Add(48 * time.Hour)} {
			if got, err := f.s.RotateToken(f.ctx, alice.ID, nt.ID, randomDigest(), "h", now, time.Time{}); !errors.Is(err, store.ErrExpired) {
				t.Fatalf("RotateToken at %s = %+v, %v; want ErrExpired", now, got, err)
			}
		}
		stored := f.mustFind(nt.Digest, nt.ID)
		checkTime(t, "ExpiresAt", stored.ExpiresAt, nt.ExpiresAt)
	})

	t.Run("rotate of another user's or an unknown token is ErrNotFound and changes nothing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a, ad := f.token(alice, "a")
		for _, c := range []struct{ name, user, id string }{
			{"another user's token", bob.ID, a.ID},
			{"unknown id", alice.ID, store.NewID(epoch)},
		} {
			d := randomDigest()
			if _, err := f.s.RotateToken(f.ctx, c.user, c.id, d, "h", epoch.Add(time.Hour), time.Time{}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RotateToken(%s) = %v, want ErrNotFound", c.name, err)
			}
			f.mustNotFind(d, "a refused rotation")
		}
		got := f.mustFind(ad, a.ID)
		checkToken(t, "token after refused rotations", got, a)
	})

	t.Run("rotate to a digest in use is ErrConflict and keeps the old secret", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		a, ad := f.token(alice, "a")
		b, bd := f.token(alice, "b")
		if _, err := f.s.RotateToken(f.ctx, alice.ID, a.ID, bd, "h", epoch.Add(time.Hour), time.Time{}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RotateToken to b's digest = %v, want ErrConflict", err)
		}
		checkToken(t, "a after refused rotation", f.mustFind(ad, a.ID), a)
		f.mustFind(bd, b.ID)
	})
}

func testTouch(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("touch writes at most once per interval", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		tok, d := f.token(alice, "busy")
		if tok.LastUsedAt != nil {
			t.Fatalf("new token LastUsedAt = %v, want nil", tok.LastUsedAt)
		}
		first := epoch.Add(time.Hour)
		steps := []struct {
			name string
			at   time.Time
			want time.Time
		}{
			{"first use is recorded", first, first},
			{"use within the interval is not", first.Add(59 * time.Second), first},
			{"earlier use never moves it back", first.Add(-time.Hour), first},
			{"use a full interval later is recorded", first.Add(time.Minute), first.Add(time.Minute)},
			{"and much later too", first.Add(25 * time.Hour), first.Add(25 * time.Hour)},
		}
		for _, s := range steps {
			if err := f.s.TouchToken(f.ctx, tok.ID, s.at, time.Minute); err != nil {
				t.Fatalf("%s: TouchToken: %v", s.name, err)
			}
			got := f.mustFind(d, tok.ID)
			if got.LastUsedAt == nil {
				t.Fatalf("%s: LastUsedAt = nil, want %s", s.name, s.want)
			}
			checkTime(t, s.name, *got.LastUsedAt, s.want)
		}
	})

	t.Run("touch with a zero interval always records", func(t *testing.T) {
		f := newFixture(t, newStore)
		tok, _ := f.token(f.user("alice"), "t")
		for i := 1; i <= 3; i++ {
			at := epoch.Add(time.Duration(i) * time.Microsecond)
			if err := f.s.TouchToken(f.ctx, tok.ID, at, 0); err != nil {
				t.Fatalf("TouchToken: %v", err)
			}
			got, err := f.s.GetToken(f.ctx, tok.UserID, tok.ID)
			if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
				t.Fatalf("after touch %d: LastUsedAt = %v, %v; want %s", i, got.LastUsedAt, err, at)
			}
		}
	})

	t.Run("touch of an unknown token is ErrNotFound", func(t *testing.T) {
		f := newFixture(t, newStore)
		if err := f.s.TouchToken(f.ctx, store.NewID(epoch), epoch, time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TouchToken(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("touch changes only that token", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		a, _ := f.token(alice, "a")
		b, bd := f.token(alice, "b")
		if err := f.s.TouchToken(f.ctx, a.ID, epoch.Add(time.Hour), time.Minute); err != nil {
			t.Fatalf("TouchToken: %v", err)
		}
		if got := f.mustFind(bd, b.ID); got.LastUsedAt != nil {
			t.Fatalf("b LastUsedAt = %v after touching a", got.LastUsedAt)
		}
	})
}

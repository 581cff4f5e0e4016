package storetest

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/tokenctl/tokenctl/internal/store"
)

func testIdempotency(t *testing.T, newStore func(t *testing.T) store.Store) {
	// idem returns a create for u under key, for the request body "body".
	idem := func(u store.User, key, body string) store.NewToken {
		nt := newToken(u, "ci-"+body)
		nt.IdempotencyKey = key
		nt.RequestHash = sha256.Sum256([]byte(body))
		return nt
	}

	t.Run("replay returns the first token with the new secret", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		first := idem(alice, "key-1", "deploy")
		created := f.create(first)

		retry := idem(alice, "key-1", "deploy") // new id, digest and hint, as a retried request mints
		got, replayed, err := f.s.CreateToken(f.ctx, retry)
		if err != nil {
			t.Fatalf("replayed CreateToken: %v", err)
		}
		if !replayed {
			t.Fatalf("replayed = false for a retry with the same key and request")
		}
		w := want(first)
		w.KeyHint = retry.KeyHint // the hint follows the secret the caller now holds
		checkToken(t, "replayed token", got, w)
		if got.ID != created.ID {
			t.Fatalf("replay id = %s, want the first id %s", got.ID, created.ID)
		}

		if ids := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 10}); !equalIDs(ids, []string{first.ID}) {
			t.Fatalf("tokens after replay = %v, want only %s", ids, first.ID)
		}
		f.mustNotFind(first.Digest, "a replay replaced the secret")
		f.mustFind(retry.Digest, first.ID)
		stored, err := f.s.GetToken(f.ctx, alice.ID, first.ID)
		if err != nil {
			t.Fatalf("GetToken: %v", err)
		}
		checkToken(t, "stored token after replay", stored, w)
	})

	t.Run("replay can happen more than once", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		first := idem(alice, "k", "x")
		f.create(first)
		var last store.NewToken
		for i := 0; i < 3; i++ {
			last = idem(alice, "k", "x")
			if got, replayed, err := f.s.CreateToken(f.ctx, last); err != nil || !replayed || got.ID != first.ID {
				t.Fatalf("retry %d = %s, replayed=%v, %v; want %s replayed", i, got.ID, replayed, err, first.ID)
			}
		}
		f.mustFind(last.Digest, first.ID)
		if ids := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 10}); len(ids) != 1 {
			t.Fatalf("tokens after retries = %v, want one", ids)
		}
	})

	t.Run("same key with a different request is ErrIdempotencyMismatch and changes nothing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		first := idem(alice, "key-1", "deploy")
		f.create(first)
		other := idem(alice, "key-1", "something else")
		if _, _, err := f.s.CreateToken(f.ctx, other); !errors.Is(err, store.ErrIdempotencyMismatch) {
			t.Fatalf("CreateToken with a reused key = %v, want ErrIdempotencyMismatch", err)
		}
		f.mustFind(first.Digest, first.ID)
		f.mustNotFind(other.Digest, "a refused create")
		if ids := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 10}); !equalIDs(ids, []string{first.ID}) {
			t.Fatalf("tokens = %v, want only %s", ids, first.ID)
		}
	})

	t.Run("same key from another user is independent", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a := idem(alice, "shared-key", "deploy")
		b := idem(bob, "shared-key", "deploy")
		f.create(a)
		f.create(b) // fails the test if it replays alice's token
		f.mustFind(a.Digest, a.ID)
		f.mustFind(b.Digest, b.ID)
		if ids := f.listAll(store.ListOptions{UserID: bob.ID, Limit: 10}); !equalIDs(ids, []string{b.ID}) {
			t.Fatalf("bob's tokens = %v, want only %s", ids, b.ID)
		}
		// And a different body under the same key is fine for the other user.
		c := idem(f.user("carol"), "shared-key", "another body")
		f.create(c)
	})

	t.Run("creates without a key never replay", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		a, b := newToken(alice, "same"), newToken(alice, "same")
		a.RequestHash = sha256.Sum256([]byte("same"))
		b.RequestHash = a.RequestHash
		f.create(a)
		f.create(b)
		if ids := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 10}); len(ids) != 2 {
			t.Fatalf("tokens = %v, want two", ids)
		}
	})

	t.Run("a key is free again once its token is deleted", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		first := idem(alice, "k", "x")
		f.create(first)
		if err := f.s.DeleteToken(f.ctx, alice.ID, first.ID); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		again := idem(alice, "k", "y")
		f.create(again) // fails the test on a replay or a mismatch
		f.mustFind(again.Digest, again.ID)
	})
}

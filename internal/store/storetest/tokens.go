package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// want is the Token a store should return for nt.
func want(nt store.NewToken) store.Token {
	return store.Token{
		ID: nt.ID, UserID: nt.UserID, Name: nt.Name, Description: nt.Description,
		KeyHint: nt.KeyHint, CreatedAt: nt.CreatedAt, ExpiresAt: nt.ExpiresAt,
	}
}

func testTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("created token comes back from create, get, digest and list", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "laptop")
		nt.Description = "my laptop — ünïcode ok"
		// Non-UTC inputs: the same instants must come back, in UTC.
		zone := time.FixedZone("PDT", -7*3600)
		nt.CreatedAt = nt.CreatedAt.In(zone)
		nt.ExpiresAt = nt.ExpiresAt.In(zone)
		w := want(nt)

		created := f.create(nt)
		checkToken(t, "CreateToken", created, w)

		got, err := f.s.GetToken(f.ctx, alice.ID, nt.ID)
		if err != nil {
			t.Fatalf("GetToken: %v", err)
		}
		checkToken(t, "GetToken", got, w)

		byDigest, owner, err := f.s.TokenByDigest(f.ctx, nt.Digest)
		if err != nil {
			t.Fatalf("TokenByDigest: %v", err)
		}
		checkToken(t, "TokenByDigest", byDigest, w)
		if owner.ID != alice.ID || owner.Username != "alice" || owner.PasswordHash != alice.PasswordHash {
			t.Errorf("TokenByDigest owner = %+v, want %+v", owner, alice)
		}
		checkTime(t, "owner CreatedAt", owner.CreatedAt, alice.CreatedAt)

		page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: 10})
		if err != nil || len(page) != 1 {
			t.Fatalf("ScanTokens = %d tokens, %v; want 1", len(page), err)
		}
		checkToken(t, "ScanTokens", page[0], w)
	})

	t.Run("empty description round-trips", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "ci")
		nt.Description = ""
		f.create(nt)
		got, err := f.s.GetToken(f.ctx, alice.ID, nt.ID)
		if err != nil {
			t.Fatalf("GetToken: %v", err)
		}
		checkToken(t, "GetToken", got, want(nt))
	})

	t.Run("taken id or digest is ErrConflict and changes nothing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		first, firstDigest := f.token(alice, "first")

		sameID := newToken(alice, "same id")
		sameID.ID = first.ID
		sameDigest := newToken(alice, "same digest")
		sameDigest.Digest = firstDigest
		for _, nt := range []store.NewToken{sameID, sameDigest} {
			if _, _, err := f.s.CreateToken(f.ctx, nt); !errors.Is(err, store.ErrConflict) {
				t.Errorf("CreateToken(%s) = %v, want ErrConflict", nt.Name, err)
			}
		}
		if ids := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 10}); !equalIDs(ids, []string{first.ID}) {
			t.Fatalf("tokens after conflicts = %v, want only %s", ids, first.ID)
		}
		f.mustFind(firstDigest, first.ID)
	})

	t.Run("unknown digest is ErrNotFound", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.token(f.user("alice"), "laptop")
		f.mustNotFind(randomDigest(), "nothing")
		f.mustNotFind([32]byte{}, "nothing")
	})

	t.Run("TokenByDigest finds an expired token: expiry is the caller's business", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "old")
		nt.CreatedAt = epoch.Add(-48 * time.Hour)
		nt.ExpiresAt = epoch.Add(-24 * time.Hour)
		f.create(nt)
		tok := f.mustFind(nt.Digest, nt.ID)
		if !tok.Expired(epoch) {
			t.Fatalf("Expired(epoch) = false for a token that expired a day earlier")
		}
	})

	t.Run("GetToken of another user's or an unknown token is ErrNotFound", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		a, _ := f.token(alice, "a")
		for _, c := range []struct{ name, user, id string }{
			{"another user's token", bob.ID, a.ID},
			{"unknown id", alice.ID, store.NewID(epoch)},
			{"unknown user", store.NewID(epoch), a.ID},
			{"empty id", alice.ID, ""},
		} {
			if _, err := f.s.GetToken(f.ctx, c.user, c.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetToken(%s) = %v, want ErrNotFound", c.name, err)
			}
		}
	})

	t.Run("Ping succeeds on an open store", func(t *testing.T) {
		f := newFixture(t, newStore)
		if err := f.s.Ping(f.ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("Ready succeeds on an open store and leaves the data alone", func(t *testing.T) {
		f := newFixture(t, newStore)
		u := f.user("alice")
		tok := f.create(newToken(u, "a"))
		for range 2 {
			if err := f.s.Ready(f.ctx); err != nil {
				t.Fatalf("Ready: %v", err)
			}
		}
		if got, err := f.s.GetToken(f.ctx, u.ID, tok.ID); err != nil || got.Name != "a" {
			t.Fatalf("GetToken after Ready = %+v, %v", got, err)
		}
		if users, err := f.s.ListUsers(f.ctx); err != nil || len(users) != 1 {
			t.Fatalf("ListUsers after Ready = %d users, %v", len(users), err)
		}
	})
}

func testExpired(t *testing.T) {
	tok := store.Token{CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
	for _, c := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"before creation is active", epoch.Add(-time.Hour), false},
		{"just before expiry is active", tok.ExpiresAt.Add(-time.Nanosecond), false},
		{"at the expiry instant is expired", tok.ExpiresAt, true},
		{"after expiry is expired", tok.ExpiresAt.Add(time.Second), true},
		{"same instant in another zone is expired", tok.ExpiresAt.In(time.FixedZone("X", 3600)), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := tok.Expired(c.now); got != c.want {
				t.Fatalf("Expired(%s) = %v, want %v", c.now, got, c.want)
			}
		})
	}
}

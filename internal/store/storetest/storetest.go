// Package storetest is the conformance suite for store.Store backends. A
// backend is correct when Run passes on it; the behaviour is defined here
// once, so SQLite and PostgreSQL cannot drift apart.
//
// Times: the suite stores times with microsecond precision (what PostgreSQL
// keeps) and expects them back equal and in UTC.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// Run runs every conformance test against stores made by newStore. Each
// subtest calls newStore once and needs a new, empty store; newStore owns the
// store's cleanup (t.Cleanup), the suite never closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("users", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("tokens", func(t *testing.T) { testTokens(t, newStore) })
	t.Run("idempotency", func(t *testing.T) { testIdempotency(t, newStore) })
	t.Run("list", func(t *testing.T) { testList(t, newStore) })
	t.Run("delete", func(t *testing.T) { testDelete(t, newStore) })
	t.Run("rotate", func(t *testing.T) { testRotate(t, newStore) })
	t.Run("touch", func(t *testing.T) { testTouch(t, newStore) })
	t.Run("expired", testExpired)
	t.Run("concurrency", func(t *testing.T) { testConcurrency(t, newStore) })
	t.Run("scopes", func(t *testing.T) { testScopes(t, newStore) })
	t.Run("events", func(t *testing.T) { testEvents(t, newStore) })
	t.Run("events with no user", func(t *testing.T) { testNoUserEvents(t, newStore) })
	t.Run("unused since", func(t *testing.T) { testUnusedSince(t, newStore) })
	t.Run("trust", func(t *testing.T) { testTrust(t, newStore) })
	t.Run("roles", func(t *testing.T) { testRoles(t, newStore) })
	t.Run("admin", func(t *testing.T) { testAdmin(t, newStore) })
	t.Run("sso", func(t *testing.T) { testSSO(t, newStore) })
	t.Run("console", func(t *testing.T) { testConsole(t, newStore) })
	t.Run("webhooks", func(t *testing.T) { testWebhooks(t, newStore) })
}

// epoch is the suite's "now": fixed, so failures reproduce, and with a
// microsecond part, so a backend that drops sub-second precision fails.
var epoch = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// defaultLifetime is how long fixture tokens live.
const defaultLifetime = 30 * 24 * time.Hour

// fixture wraps a fresh store with helpers that fail the test on error.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   store.Store
}

func newFixture(t *testing.T, newStore func(t *testing.T) store.Store) *fixture {
	t.Helper()
	return &fixture{t: t, ctx: t.Context(), s: newStore(t)}
}

// user creates a user with the given name.
func (f *fixture) user(name string) store.User {
	f.t.Helper()
	u := store.User{
		ID:           store.NewID(epoch),
		Username:     name,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", // shape only, not a real hash
		CreatedAt:    epoch,
		Role:         store.RoleMember,
		Kind:         store.KindPerson,
	}
	if err := f.s.CreateUser(f.ctx, u); err != nil {
		f.t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

// newToken returns a NewToken for u with a fresh id and random digest,
// created at epoch and living defaultLifetime.
func newToken(u store.User, name string) store.NewToken {
	d := randomDigest()
	return store.NewToken{
		ID:          store.NewID(epoch),
		UserID:      u.ID,
		Name:        name,
		Description: "for " + name,
		KeyHint:     fmt.Sprintf("tkn_%x…%x", d[:2], d[30:]),
		Digest:      d,
		CreatedAt:   epoch,
		ExpiresAt:   epoch.Add(defaultLifetime),
	}
}

// create stores nt and checks it was not a replay.
func (f *fixture) create(nt store.NewToken) store.Token {
	f.t.Helper()
	tok, replayed, err := f.s.CreateToken(f.ctx, nt)
	if err != nil {
		f.t.Fatalf("CreateToken(%s): %v", nt.Name, err)
	}
	if replayed {
		f.t.Fatalf("CreateToken(%s): replayed = true for a first create", nt.Name)
	}
	return tok
}

// token creates a token named name for u.
func (f *fixture) token(u store.User, name string) (store.Token, [32]byte) {
	f.t.Helper()
	nt := newToken(u, name)
	return f.create(nt), nt.Digest
}

// List returns the page of tokens ScanTokens finds for opts, for tests
// that want the tokens and not the resume point. The server lists only
// through ScanTokens, so the store has no second listing method.
func List(ctx context.Context, s store.Store, opts store.ListOptions) ([]store.Token, error) {
	toks, _, err := s.ScanTokens(ctx, opts)
	return toks, err
}

// listAll pages through all of u's tokens matching opts (Limit is the page
// size) and returns their ids.
func (f *fixture) listAll(opts store.ListOptions) []string {
	f.t.Helper()
	var ids []string
	for {
		page, err := List(f.ctx, f.s, opts)
		if err != nil {
			f.t.Fatalf("ScanTokens(%+v): %v", opts, err)
		}
		for _, tok := range page {
			ids = append(ids, tok.ID)
		}
		if len(page) < opts.Limit {
			return ids
		}
		opts.BeforeID = page[len(page)-1].ID
	}
}

// mustNotFind checks that digest no longer authenticates.
func (f *fixture) mustNotFind(digest [32]byte, why string) {
	f.t.Helper()
	if tok, _, err := f.s.TokenByDigest(f.ctx, digest); !errors.Is(err, store.ErrNotFound) {
		f.t.Fatalf("TokenByDigest after %s = %s, %v; want ErrNotFound", why, tok.ID, err)
	}
}

// mustFind checks that digest authenticates as token id.
func (f *fixture) mustFind(digest [32]byte, id string) store.Token {
	f.t.Helper()
	tok, _, err := f.s.TokenByDigest(f.ctx, digest)
	if err != nil {
		f.t.Fatalf("TokenByDigest for %s: %v", id, err)
	}
	if tok.ID != id {
		f.t.Fatalf("TokenByDigest found %s, want %s", tok.ID, id)
	}
	return tok
}

func randomDigest() [32]byte {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return sha256.Sum256(b[:])
}

// checkToken compares every field of got with want, and checks the times
// come back in UTC.
func checkToken(t *testing.T, what string, got, want store.Token) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name ||
		got.Description != want.Description || got.KeyHint != want.KeyHint {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	checkTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	switch {
	case got.LastUsedAt == nil && want.LastUsedAt == nil:
	case got.LastUsedAt == nil || want.LastUsedAt == nil:
		t.Errorf("%s LastUsedAt: got %v, want %v", what, got.LastUsedAt, want.LastUsedAt)
	default:
		checkTime(t, what+" LastUsedAt", *got.LastUsedAt, *want.LastUsedAt)
	}
}

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %s, want UTC", what, got.Location())
	}
}

// sortedDesc returns ids sorted newest first, the order of a listing.
func sortedDesc(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

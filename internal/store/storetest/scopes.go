package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
)

func testScopes(t *testing.T, newStore func(t *testing.T) store.Store) {
	// The caller builds the Set (sorted, unique) once; the store keeps its
	// order and hands it back from every read without sorting again.
	t.Run("a token's scope.Set comes back as stored on every read", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "scoped")
		nt.Scopes = scope.NewSet("tokens:write", "deploy:write", "tokens:write", "a.b")
		want := []string{"a.b", "deploy:write", "tokens:write"}
		created := f.create(nt)
		if !slices.Equal(created.Scopes, want) {
			t.Errorf("CreateToken scopes = %q, want %q", created.Scopes, want)
		}
		if got := f.mustFind(nt.Digest, nt.ID); !slices.Equal(got.Scopes, want) {
			t.Errorf("TokenByDigest scopes = %q, want %q", got.Scopes, want)
		}
		if got, err := f.s.GetToken(f.ctx, alice.ID, nt.ID); err != nil || !slices.Equal(got.Scopes, want) {
			t.Errorf("GetToken scopes = %q, %v; want %q", got.Scopes, err, want)
		}
		page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: 10})
		if err != nil || len(page) != 1 || !slices.Equal(page[0].Scopes, want) {
			t.Errorf("ScanTokens = %+v, %v; want scopes %q", page, err, want)
		}
		rotated, err := f.s.RotateToken(f.ctx, alice.ID, nt.ID, randomDigest(), "h", epoch.Add(time.Hour), time.Time{})
		if err != nil || !slices.Equal(rotated.Scopes, want) {
			t.Errorf("RotateToken scopes = %q, %v; want %q kept", rotated.Scopes, err, want)
		}
	})

	t.Run("a token without scopes has an empty, non-nil list", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		tok, d := f.token(alice, "bare")
		if tok.Scopes == nil || len(tok.Scopes) != 0 {
			t.Errorf("CreateToken scopes = %#v, want []", tok.Scopes)
		}
		if got := f.mustFind(d, tok.ID); got.Scopes == nil || len(got.Scopes) != 0 {
			t.Errorf("TokenByDigest scopes = %#v, want []", got.Scopes)
		}
	})

	t.Run("CreateScope, ListScopes by name, duplicate is ErrConflict", func(t *testing.T) {
		f := newFixture(t, newStore)
		if got, err := f.s.ListScopes(f.ctx); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ListScopes on an empty store = %#v, %v; want []", got, err)
		}
		for _, n := range []string{"deploy:write", "app.read", "deploy:read"} {
			if err := f.s.CreateScope(f.ctx, store.Scope{Name: n, Description: "about " + n, CreatedAt: epoch}); err != nil {
				t.Fatalf("CreateScope(%s): %v", n, err)
			}
		}
		if err := f.s.CreateScope(f.ctx, store.Scope{Name: "app.read", CreatedAt: epoch}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second CreateScope(app.read) = %v, want ErrConflict", err)
		}
		got, err := f.s.ListScopes(f.ctx)
		if err != nil {
			t.Fatalf("ListScopes: %v", err)
		}
		var names []string
		for _, sc := range got {
			names = append(names, sc.Name)
			if sc.Description != "about "+sc.Name {
				t.Errorf("%s description = %q", sc.Name, sc.Description)
			}
			checkTime(t, sc.Name+" CreatedAt", sc.CreatedAt, epoch)
		}
		if want := []string{"app.read", "deploy:read", "deploy:write"}; !slices.Equal(names, want) {
			t.Fatalf("ListScopes = %q, want %q", names, want)
		}
	})

	t.Run("DeleteScope: unknown is ErrNotFound, in use by a live token is refused with the count", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		if err := f.s.DeleteScope(f.ctx, "nope", epoch); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteScope(unknown) = %v, want ErrNotFound", err)
		}
		for _, n := range []string{"deploy:write", "deploy:writer"} {
			if err := f.s.CreateScope(f.ctx, store.Scope{Name: n, CreatedAt: epoch}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			nt := newToken(alice, fmt.Sprint("d", i))
			nt.Scopes = []string{"deploy:write"}
			nt.ExpiresAt = epoch.Add(time.Duration(i+1) * time.Hour)
			f.create(nt)
		}
		// A prefix of another scope's name is not that scope.
		if err := f.s.DeleteScope(f.ctx, "deploy:writer", epoch); err != nil {
			t.Fatalf("DeleteScope(deploy:writer) = %v", err)
		}
		err := f.s.DeleteScope(f.ctx, "deploy:write", epoch)
		var inUse *store.ScopeInUseError
		if !errors.As(err, &inUse) || !errors.Is(err, store.ErrConflict) || inUse.Live != 2 {
			t.Fatalf("DeleteScope(in use) = %v, want a ScopeInUseError for 2 tokens that is ErrConflict", err)
		}
		if got, _ := f.s.ListScopes(f.ctx); len(got) != 1 {
			t.Fatalf("refused delete removed the scope: %+v", got)
		}
		err = f.s.DeleteScope(f.ctx, "deploy:write", epoch.Add(90*time.Minute))
		if !errors.As(err, &inUse) || inUse.Live != 1 {
			t.Fatalf("DeleteScope with one live token = %v, want in use by 1", err)
		}
		if err := f.s.DeleteScope(f.ctx, "deploy:write", epoch.Add(2*time.Hour)); err != nil {
			t.Fatalf("DeleteScope once every carrier expired = %v", err)
		}
		if got, _ := f.s.ListScopes(f.ctx); len(got) != 0 {
			t.Fatalf("ListScopes after delete = %+v", got)
		}
	})

	t.Run("MaxLive refuses the create past the ceiling; expired tokens do not count", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		old := newToken(alice, "expired")
		old.ExpiresAt = epoch.Add(-time.Hour)
		old.CreatedAt = epoch.Add(-2 * time.Hour)
		f.create(old)
		f.token(bob, "bobs") // another user's tokens do not count
		for i := range 3 {
			nt := newToken(alice, fmt.Sprint("live", i))
			nt.MaxLive = 3
			f.create(nt)
		}
		nt := newToken(alice, "one too many")
		nt.MaxLive = 3
		if tok, _, err := f.s.CreateToken(f.ctx, nt); !errors.Is(err, store.ErrLimit) {
			t.Fatalf("CreateToken past MaxLive = %+v, %v; want ErrLimit", tok, err)
		}
		f.mustNotFind(nt.Digest, "a refused create")
		nt.MaxLive = 4
		f.create(nt)
		bobs := newToken(bob, "bob2")
		bobs.MaxLive = 2
		f.create(bobs)
	})

	t.Run("MaxLive never refuses an idempotent replay", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		nt := newToken(alice, "keyed")
		nt.IdempotencyKey, nt.RequestHash = "k1", [32]byte{1}
		nt.MaxLive = 1
		first := f.create(nt)
		again := nt
		again.ID, again.Digest = store.NewID(epoch), randomDigest()
		tok, replayed, err := f.s.CreateToken(f.ctx, again)
		if err != nil || !replayed || tok.ID != first.ID {
			t.Fatalf("replay at the ceiling = %+v, %v, %v; want the first token replayed", tok, replayed, err)
		}
		other := newToken(alice, "fresh")
		other.IdempotencyKey, other.RequestHash = "k2", [32]byte{2}
		other.MaxLive = 1
		if _, _, err := f.s.CreateToken(f.ctx, other); !errors.Is(err, store.ErrLimit) {
			t.Fatalf("new keyed create at the ceiling = %v, want ErrLimit", err)
		}
	})

	t.Run("concurrent creates never pass MaxLive", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		const limit, tries = 5, 16
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, refused := 0, 0
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nt := newToken(alice, fmt.Sprint("c", i))
				nt.MaxLive = limit
				_, _, err := f.s.CreateToken(f.ctx, nt)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case errors.Is(err, store.ErrLimit):
					refused++
				default:
					t.Errorf("CreateToken: %v", err)
				}
			}()
		}
		wg.Wait()
		if made != limit || refused != tries-limit {
			t.Fatalf("made %d, refused %d; want %d and %d", made, refused, limit, tries-limit)
		}
	})

	t.Run("ScanTokens keeps tokens carrying every asked scope", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		mk := func(u store.User, name string, scopes ...string) string {
			nt := newToken(u, name)
			nt.Scopes = scope.NewSet(scopes...)
			return f.create(nt).ID
		}
		both := mk(alice, "both", "deploy:write", "tokens:read")
		deploy := mk(alice, "deploy", "deploy:write")
		mk(alice, "prefix", "deploy:writer", "deploy")
		mk(alice, "none")
		mk(bob, "bobs", "deploy:write")
		for _, c := range []struct {
			scopes []string
			want   []string
		}{
			{[]string{"deploy:write"}, sortedDesc([]string{both, deploy})},
			{[]string{"deploy:write", "tokens:read"}, []string{both}},
			{[]string{"tokens:write"}, nil},
		} {
			opts := store.ListOptions{UserID: alice.ID, Limit: 10, Scopes: c.scopes}
			if got := f.listAll(opts); !equalIDs(got, c.want) {
				t.Errorf("paged scopes %q = %v, want %v", c.scopes, got, c.want)
			}
			opts.MaxScan = 1000
			toks, next, err := f.s.ScanTokens(f.ctx, opts)
			var got []string
			for _, tok := range toks {
				got = append(got, tok.ID)
			}
			if err != nil || next != "" || !equalIDs(got, c.want) {
				t.Errorf("ScanTokens scopes %q = %v, %q, %v; want %v and no next", c.scopes, got, next, err, c.want)
			}
		}
	})

	t.Run("ScanTokens examines at most MaxScan rows a call and resumes from the last examined", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		var ids []string // oldest first
		for i := range 25 {
			nt := newToken(alice, fmt.Sprint("t", i))
			nt.ID = store.NewID(epoch.Add(time.Duration(i) * time.Millisecond))
			if i == 0 || i == 13 {
				nt.Name = fmt.Sprint("match", i)
			}
			f.create(nt)
			ids = append(ids, nt.ID)
		}
		newest := sortedDesc(ids)
		opts := store.ListOptions{UserID: alice.ID, NameGlob: "match*", Limit: 5, MaxScan: 10}
		var pages [][]string
		var nexts []string
		for range 10 {
			toks, next, err := f.s.ScanTokens(f.ctx, opts)
			if err != nil {
				t.Fatalf("ScanTokens: %v", err)
			}
			var got []string
			for _, tok := range toks {
				got = append(got, tok.ID)
			}
			pages, nexts = append(pages, got), append(nexts, next)
			if next == "" {
				break
			}
			opts.BeforeID = next
		}
		// Rows 24..15 (no match), 14..5 (13 matches), 4..0 (0 matches, end).
		wantPages := [][]string{nil, {ids[13]}, {ids[0]}}
		wantNexts := []string{newest[9], newest[19], ""}
		if len(pages) != len(wantPages) {
			t.Fatalf("pages = %v (next %q), want %v", pages, nexts, wantPages)
		}
		for i := range pages {
			if !equalIDs(pages[i], wantPages[i]) || nexts[i] != wantNexts[i] {
				t.Errorf("page %d = %v next %q, want %v next %q", i, pages[i], nexts[i], wantPages[i], wantNexts[i])
			}
		}
	})

	t.Run("ScanTokens stops at Limit matches and says there is more only when there is", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		var ids []string
		for i := range 6 {
			nt := newToken(alice, fmt.Sprint("t", i))
			nt.ID = store.NewID(epoch.Add(time.Duration(i) * time.Millisecond))
			f.create(nt)
			ids = append(ids, nt.ID)
		}
		newest := sortedDesc(ids)
		toks, next, err := f.s.ScanTokens(f.ctx, store.ListOptions{UserID: alice.ID, Limit: 4, MaxScan: 1000})
		if err != nil || len(toks) != 4 || next != newest[3] {
			t.Fatalf("first page = %d tokens, next %q, %v; want 4 and next %s", len(toks), next, err, newest[3])
		}
		toks, next, err = f.s.ScanTokens(f.ctx, store.ListOptions{UserID: alice.ID, Limit: 2, MaxScan: 1000, BeforeID: next})
		if err != nil || len(toks) != 2 || next != "" {
			t.Fatalf("last full page = %d tokens, next %q, %v; want 2 and no next", len(toks), next, err)
		}
		// Same with a filter that matches everything, and a window that
		// ends exactly at the oldest row.
		toks, next, err = f.s.ScanTokens(f.ctx, store.ListOptions{UserID: alice.ID, NameGlob: "t*", Limit: 10, MaxScan: 6})
		if err != nil || len(toks) != 6 {
			t.Fatalf("filtered page = %d tokens, %v; want 6", len(toks), err)
		}
		if next != "" {
			toks, next, err = f.s.ScanTokens(f.ctx, store.ListOptions{UserID: alice.ID, NameGlob: "t*", Limit: 10, MaxScan: 6, BeforeID: next})
			if err != nil || len(toks) != 0 || next != "" {
				t.Fatalf("page after a full window = %d tokens, next %q, %v; want an empty last page", len(toks), next, err)
			}
		}
	})
}

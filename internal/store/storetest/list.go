package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/store"
)

func testList(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("newest first by id", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		// Ids a millisecond apart, created out of order: the order must come
		// from the ids, not from insertion.
		var ids []string
		for _, ms := range []int{5, 1, 9, 3, 7, 2, 8} {
			nt := newToken(alice, fmt.Sprint("t", ms))
			nt.ID = store.NewID(epoch.Add(time.Duration(ms) * time.Millisecond))
			f.create(nt)
			ids = append(ids, nt.ID)
		}
		page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: 1000})
		if err != nil {
			t.Fatalf("ScanTokens: %v", err)
		}
		var got []string
		for _, tok := range page {
			got = append(got, tok.ID)
		}
		if want := sortedDesc(ids); !equalIDs(got, want) {
			t.Fatalf("order = %v, want %v", got, want)
		}
	})

	// The server asks for up to api.MaxPageSize tokens; the store reads
	// one row more itself to learn whether another page follows (that row
	// once pushed PostgreSQL past its own cap: GET ?limit=1000 was a 500).
	t.Run("Limit runs from 1 to api.MaxPageSize", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		for i := 0; i < 3; i++ {
			f.token(alice, fmt.Sprint("t", i))
		}
		if page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: api.MaxPageSize}); err != nil || len(page) != 3 {
			t.Fatalf("ScanTokens with Limit %d = %d tokens, %v; want 3", api.MaxPageSize, len(page), err)
		}
		for _, opts := range []store.ListOptions{
			{UserID: alice.ID, Limit: 0},
			{UserID: alice.ID, Limit: api.MaxPageSize + 1},
			{UserID: alice.ID, Limit: 10, Status: store.Status(42)},
		} {
			if _, err := List(f.ctx, f.s, opts); err == nil {
				t.Errorf("ScanTokens(%+v) succeeded, want an error", opts)
			}
		}
	})

	t.Run("user with no tokens gets an empty page", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		f.token(f.user("bob"), "bobs")
		page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: 10})
		if err != nil || len(page) != 0 {
			t.Fatalf("ScanTokens = %v, %v; want an empty page", page, err)
		}
	})

	t.Run("pages with BeforeID visit every token once", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice, bob := f.user("alice"), f.user("bob")
		var all []string
		for i := 0; i < 25; i++ {
			tok, _ := f.token(alice, fmt.Sprint("a", i))
			all = append(all, tok.ID)
			f.token(bob, fmt.Sprint("b", i)) // interleaved, must never show up
		}
		want := sortedDesc(all)
		for _, size := range []int{1, 7, 12, 25, 26, 1000} {
			t.Run(fmt.Sprint("page size ", size), func(t *testing.T) {
				var got []string
				opts := store.ListOptions{UserID: alice.ID, Limit: size}
				for pages := 0; ; pages++ {
					if pages > len(all)+1 {
						t.Fatalf("no end after %d pages", pages)
					}
					page, err := List(f.ctx, f.s, opts)
					if err != nil {
						t.Fatalf("ScanTokens: %v", err)
					}
					if len(page) > size {
						t.Fatalf("page of %d tokens for limit %d", len(page), size)
					}
					if len(page) == 0 {
						break
					}
					for _, tok := range page {
						got = append(got, tok.ID)
					}
					opts.BeforeID = page[len(page)-1].ID
				}
				if !equalIDs(got, want) {
					t.Fatalf("paged ids = %v\nwant %v", got, want)
				}
			})
		}
	})

	t.Run("BeforeID of a deleted token still continues the listing", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		var all []string
		for i := 0; i < 10; i++ {
			tok, _ := f.token(alice, fmt.Sprint("t", i))
			all = append(all, tok.ID)
		}
		want := sortedDesc(all)
		page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Limit: 4})
		if err != nil || len(page) != 4 {
			t.Fatalf("first page = %d tokens, %v", len(page), err)
		}
		cursor := page[3].ID
		if err := f.s.DeleteToken(f.ctx, alice.ID, cursor); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		rest := f.listAll(store.ListOptions{UserID: alice.ID, Limit: 4, BeforeID: cursor})
		if !equalIDs(rest, want[4:]) {
			t.Fatalf("after cursor = %v, want %v", rest, want[4:])
		}
	})

	t.Run("status filters against Now", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		now := epoch.Add(10 * 24 * time.Hour)
		cases := []struct {
			name    string
			expires time.Time
			expired bool
		}{
			{"long expired", epoch.Add(time.Hour), true},
			{"expired a microsecond ago", now.Add(-time.Microsecond), true},
			{"expires exactly now", now, true},
			{"expires in a microsecond", now.Add(time.Microsecond), false},
			{"expires next month", now.Add(30 * 24 * time.Hour), false},
		}
		var active, expired, all []string
		for i := 0; i < 3; i++ { // enough rows that two pages are needed below
			for _, c := range cases {
				nt := newToken(alice, c.name)
				nt.ExpiresAt = c.expires
				f.create(nt)
				all = append(all, nt.ID)
				if c.expired {
					expired = append(expired, nt.ID)
				} else {
					active = append(active, nt.ID)
				}
			}
		}
		for _, c := range []struct {
			status store.Status
			want   []string
		}{
			{store.StatusAll, all},
			{store.StatusActive, active},
			{store.StatusExpired, expired},
		} {
			got := f.listAll(store.ListOptions{UserID: alice.ID, Status: c.status, Now: now, Limit: 4})
			if w := sortedDesc(c.want); !equalIDs(got, w) {
				t.Errorf("status %d: got %v, want %v", c.status, got, w)
			}
		}
		// The filter and Token.Expired agree on every row.
		page, err := List(f.ctx, f.s, store.ListOptions{UserID: alice.ID, Status: store.StatusExpired, Now: now, Limit: 100})
		if err != nil {
			t.Fatalf("ScanTokens: %v", err)
		}
		for _, tok := range page {
			if !tok.Expired(now) {
				t.Errorf("%s (%s) listed as expired but Expired(now) = false", tok.Name, tok.ExpiresAt)
			}
		}
	})

	t.Run("name glob", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		names := []string{
			"ci-deploy", "ci-build", "CI-upper", "laptop",
			"a[1]", "a1", "a]b", "[x", "50%off", "50Xoff", "snake_case", "snakeXcase",
			"back\\slash", "backXslash", "star*name", "starXname", "é", "ab", "dot.name", "dotXname",
		}
		byName := map[string]string{}
		for _, n := range names {
			tok, _ := f.token(alice, n)
			byName[n] = tok.ID
		}
		f.token(f.user("bob"), "ci-bob") // another user's match never shows up
		for _, c := range []struct {
			glob string
			want []string
		}{
			{"ci-*", []string{"ci-deploy", "ci-build"}},
			{"CI-*", []string{"CI-upper"}},
			{"laptop", []string{"laptop"}},
			{"lap", nil},
			{"*top", []string{"laptop"}},
			{"LAPTOP", nil},
			{"a[1]", []string{"a[1]"}},
			{"a[1]*", []string{"a[1]"}},
			{"a]b", []string{"a]b"}},
			{"[x", []string{"[x"}},
			{"[*", []string{"[x"}},
			{"50%off", []string{"50%off"}},
			{"50%*", []string{"50%off"}},
			{"snake_case", []string{"snake_case"}},
			{"back\\slash", []string{"back\\slash"}},
			{"star*name", []string{"star*name", "starXname"}},
			{"dot.name", []string{"dot.name"}},
			{"?", []string{"é"}},
			{"??", []string{"a1", "ab", "[x"}},
			{"a?", []string{"a1", "ab"}},
			{"*", names},
			{"nothing*", nil},
		} {
			var want []string
			for _, n := range c.want {
				want = append(want, byName[n])
			}
			got := f.listAll(store.ListOptions{UserID: alice.ID, NameGlob: c.glob, Limit: 3})
			if w := sortedDesc(want); !equalIDs(got, w) {
				t.Errorf("glob %q: got %v, want names %v", c.glob, namesOf(got, byName), c.want)
			}
		}
	})

	t.Run("status, glob and cursor combine", func(t *testing.T) {
		f := newFixture(t, newStore)
		alice := f.user("alice")
		var want []string
		for i := 0; i < 12; i++ {
			nt := newToken(alice, fmt.Sprintf("%s-%d", []string{"ci", "dev"}[i%2], i))
			if i%3 == 0 {
				nt.ExpiresAt = epoch.Add(time.Minute)
			}
			f.create(nt)
			if i%2 == 0 && i%3 != 0 {
				want = append(want, nt.ID)
			}
		}
		got := f.listAll(store.ListOptions{UserID: alice.ID, Status: store.StatusActive, Now: epoch.Add(time.Hour), NameGlob: "ci-*", Limit: 2})
		if w := sortedDesc(want); !equalIDs(got, w) {
			t.Fatalf("got %v, want %v", got, w)
		}
	})
}

// namesOf maps ids back to names for readable failures.
func namesOf(ids []string, byName map[string]string) []string {
	byID := map[string]string{}
	for n, id := range byName {
		byID[id] = n
	}
	var out []string
	for _, id := range ids {
		out = append(out, byID[id])
	}
	sort.Strings(out)
	return out
}

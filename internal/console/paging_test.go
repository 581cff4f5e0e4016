package console_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// seed gives ada n tokens (tok-0 … tok-n-1, newest last) in one
// transaction on the database file (one CreateToken each would commit
// 10,000 times).
func (f *fixture) seed(tb testing.TB, n int) {
	tb.Helper()
	u, err := f.st.UserByName(context.Background(), "ada")
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", f.db)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	start := f.clock.Now().Add(-time.Duration(n) * time.Second)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		d := sha256.Sum256(fmt.Appendf(nil, "seed-%d", i))
		if _, err := tx.Exec(`INSERT INTO tokens (id, user_id, name, key_hint, digest, created_at, expires_at, scopes)
			VALUES (?, ?, ?, 'tkn_abcd…wxyz', ?, ?, ?, 'tokens:read')`, store.NewID(at), u.ID, fmt.Sprintf("tok-%d", i), d[:],
			at.UnixNano(), at.Add(30*24*time.Hour).UnixNano()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

var (
	rowID    = regexp.MustCompile(`<tr id="row-([^"]+)"`)
	nextLink = regexp.MustCompile(`href="([^"]+)" id="next-page"`)
)

// TestTableAt10000Tokens walks the table of 10,000 tokens page by page
// through its Next links (keyset cursors): every token once, newest first,
// 50 to a page; the name filter finds one among them.
func TestTableAt10000Tokens(t *testing.T) {
	f := newFixture(t, false, nil)
	const n = 10_000
	f.seed(t, n)
	f.signIn("ada", adaPassword)
	seen := map[string]bool{}
	pages, path := 0, "/"
	var last string
	for path != "" {
		a := f.do("GET", path, nil, nil)
		ids := rowID.FindAllStringSubmatch(a.body, -1)
		if a.status != 200 || len(ids) == 0 || len(ids) > 50 {
			t.Fatalf("page %d (%s): %d with %d rows", pages+1, path, a.status, len(ids))
		}
		for _, m := range ids {
			if seen[m[1]] || (last != "" && m[1] >= last) {
				t.Fatalf("page %d: %s out of order or twice", pages+1, m[1])
			}
			seen[m[1]], last = true, m[1]
		}
		pages++
		path = ""
		if m := nextLink.FindStringSubmatch(a.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != n || pages != n/50 {
		t.Fatalf("walked %d tokens on %d pages, want %d on %d", len(seen), pages, n, n/50)
	}
	a := f.do("GET", "/?"+url.Values{"name": {"tok-9876"}}.Encode(), nil, nil)
	if got := rowID.FindAllString(a.body, -1); len(got) != 1 || !strings.Contains(a.body, ">tok-9876<") {
		t.Errorf("the filter tok-9876 shows %d rows", len(got))
	}
}

// BenchmarkTablePage measures one page of the table among 10,000 tokens:
// the first and one deep in the listing (the same cost: keyset paging).
func BenchmarkTablePage(b *testing.B) {
	for _, deep := range []bool{false, true} {
		b.Run(map[bool]string{false: "first", true: "page-150"}[deep], func(b *testing.B) {
			f := newFixture(b, false, nil)
			f.seed(b, 10_000)
			f.signIn("ada", adaPassword)
			path := "/"
			if deep {
				for range 149 {
					m := nextLink.FindStringSubmatch(f.do("GET", path, nil, nil).body)
					path = html.UnescapeString(m[1])
				}
			}
			for b.Loop() {
				if a := f.do("GET", path, nil, nil); a.status != 200 {
					b.Fatal(a.status)
				}
			}
		})
	}
}

package sqlite

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// globMatch is the reference meaning of store.ListOptions.NameGlob: '*' is
// any run of characters, '?' exactly one, everything else literal.
func globMatch(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	// match[j] reports whether p[:i] matches n[:j], row by row over i.
	match := make([]bool, len(n)+1)
	match[0] = true
	for _, c := range p {
		next := make([]bool, len(n)+1)
		for j := 0; j <= len(n); j++ {
			switch {
			case c == '*':
				next[j] = match[j] || (j > 0 && next[j-1])
			case j > 0 && (c == '?' || c == n[j-1]):
				next[j] = match[j-1]
			}
		}
		match = next
	}
	return match[len(n)]
}

// FuzzNameGlob checks that the GLOB pattern ScanTokens sends to SQLite
// matches exactly the names the reference matcher does.
func FuzzNameGlob(f *testing.F) {
	for _, c := range [][2]string{
		{"ci-*", "ci-deploy"}, {"a[1]", "a[1]"}, {"a[1]", "a1"}, {"[*", "[x"}, {"[!a]", "[!a]"},
		{"[^a]", "b"}, {"a]b", "a]b"}, {"50%", "50%"}, {"_", "x"}, {"?", "é"}, {"*?*", ""},
		{"back\\slash", "back\\slash"}, {"A*", "a"}, {"[[]", "["}, {"**", "x"},
	} {
		f.Add(c[0], c[1])
	}
	s, _ := openTemp(f)
	f.Fuzz(func(t *testing.T, pattern, name string) {
		// Names are validated printable UTF-8 before they reach the store.
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) ||
			strings.ContainsRune(pattern, 0) || strings.ContainsRune(name, 0) {
			t.Skip()
		}
		var got bool
		if err := s.r.QueryRow(`SELECT ? GLOB ?`, name, sqliteGlob(pattern)).Scan(&got); err != nil {
			t.Fatalf("GLOB: %v", err)
		}
		if want := globMatch(pattern, name); got != want {
			t.Fatalf("glob %q on %q: sqlite says %v, want %v", pattern, name, got, want)
		}
	})
}

package claimmatch

import (
	"encoding/json"
	"testing"

	"github.com/tokenctl/tokenctl/internal/store"
)

func TestAll(t *testing.T) {
	claims := map[string]any{
		"email":          "ada@example.com",
		"groups":         []any{"eng", "admins"},
		"email_verified": true,
		"level":          float64(3),
		"n":              json.Number("42"),
		"org":            map[string]any{"id": "x"},
	}
	for _, c := range []struct {
		name   string
		conds  []store.ClaimMatch
		ok     bool
		failed string
	}{
		{"no conditions allow everyone", nil, true, ""},
		{"a domain glob", []store.ClaimMatch{{Claim: "email", Glob: "*@example.com"}}, true, ""},
		{"another domain", []store.ClaimMatch{{Claim: "email", Glob: "*@example.org"}}, false, "email"},
		{"a list matches when one element does", []store.ClaimMatch{{Claim: "groups", Glob: "admins"}}, true, ""},
		{"no element matches", []store.ClaimMatch{{Claim: "groups", Glob: "ops"}}, false, "groups"},
		{"every condition must hold", []store.ClaimMatch{{Claim: "groups", Glob: "eng"}, {Claim: "email", Glob: "bob@*"}}, false, "email"},
		{"booleans as JSON text", []store.ClaimMatch{{Claim: "email_verified", Glob: "true"}}, true, ""},
		{"float numbers as JSON text", []store.ClaimMatch{{Claim: "level", Glob: "3"}}, true, ""},
		{"json.Number as text", []store.ClaimMatch{{Claim: "n", Glob: "4?"}}, true, ""},
		{"a missing claim never matches, not even *", []store.ClaimMatch{{Claim: "absent", Glob: "*"}}, false, "absent"},
		{"an object never matches", []store.ClaimMatch{{Claim: "org", Glob: "*"}}, false, "org"},
		{"case matters", []store.ClaimMatch{{Claim: "email", Glob: "ADA@*"}}, false, "email"},
	} {
		failed, ok := All(c.conds, claims)
		if ok != c.ok || failed != c.failed {
			t.Errorf("%s: All = %q, %v; want %q, %v", c.name, failed, ok, c.failed, c.ok)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("*@example.com", "ada@example.com")
	f.Add("a?c*", "abcd")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if Glob(pattern, s) != Glob(pattern, s) {
			t.Fatal("not deterministic")
		}
		if Glob(s, s) != true && !containsMeta(s) {
			t.Fatalf("%q does not match itself", s)
		}
	})
}

func containsMeta(s string) bool {
	for _, r := range s {
		if r == '*' || r == '?' {
			return true
		}
	}
	return false
}

package scope

import (
	"encoding/json"
	"errors"
	"go/build"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValid(t *testing.T) {
	for _, name := range []string{
		"deploy", "deploy:write", "app.read", "registry:push:team-*", "a_b-c.d:*", "x:1", TokensRead, TokensWrite,
		strings.Repeat("a", MaxLen),
	} {
		if err := Valid(name); err != nil {
			t.Errorf("Valid(%q) = %v, want nil", name, err)
		}
	}
	for _, c := range []struct{ name, want string }{
		{"", "empty"},
		{strings.Repeat("a", MaxLen+1), "at most 64 characters"},
		{"deploy write", "has no spaces"},
		{"deploy\twrite", "has no spaces"},
		{"deploy\x00", "has no spaces"},
		{"Deploy", "malformed"},
		{"1deploy", "malformed"},
		{"*", "malformed"},
		{"deploy:", "malformed"},
		{"deploy::write", "malformed"},
		{"deploy*:write", "malformed"},
		{"dé", "malformed"},
	} {
		err := Valid(c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Valid(%q) = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestValidQuotesAtMostMaxLen(t *testing.T) {
	long := strings.Repeat("é", 1000)
	err := Valid(long)
	if err == nil || len(err.Error()) > 4*MaxLen {
		t.Fatalf("Valid(2000 bytes) = %d-byte message %v; want an error quoting at most %d bytes", len(err.Error()), err, MaxLen)
	}
	if !utf8.ValidString(err.Error()) {
		t.Errorf("message cut a rune in half: %q", err)
	}
}

func TestBuiltins(t *testing.T) {
	b := Builtins()
	if !slices.IsSortedFunc(b, func(x, y Builtin) int { return strings.Compare(x.Name, y.Name) }) {
		t.Errorf("Builtins not sorted: %v", b)
	}
	for _, sc := range b {
		if !IsBuiltin(sc.Name) || Valid(sc.Name) != nil || sc.Description == "" {
			t.Errorf("built-in %+v: IsBuiltin %v, Valid %v", sc, IsBuiltin(sc.Name), Valid(sc.Name))
		}
	}
	if len(b) != 5 || !IsBuiltin(TokensIntrospect) || IsBuiltin("deploy:write") || IsBuiltin("tokens") || IsBuiltin("admin") {
		t.Errorf("Builtins = %v; only tokens:introspect, tokens:read, tokens:write, admin:read and admin:write are built in", b)
	}
	for _, name := range []string{AdminRead, AdminWrite} {
		if !IsAdmin(name) {
			t.Errorf("IsAdmin(%s) = false", name)
		}
	}
	if IsAdmin(TokensWrite) || IsAdmin(TokensIntrospect) || IsAdmin("admin:delete") {
		t.Error("IsAdmin holds more than admin:read and admin:write")
	}
	b[0].Name = "changed"
	if Builtins()[0].Name == "changed" {
		t.Error("Builtins hands out its own slice")
	}
}

func TestNewSetSortsDedupesAndIsNeverNil(t *testing.T) {
	in := []string{"b", "a", "b", "c", "a"}
	s := NewSet(in...)
	if !slices.Equal(s, Set{"a", "b", "c"}) {
		t.Errorf("NewSet = %q", []string(s))
	}
	if in[0] != "b" {
		t.Error("NewSet sorted its argument in place")
	}
	if e := NewSet(); e == nil || len(e) != 0 {
		t.Errorf("NewSet() = %#v, want an empty non-nil Set", e)
	}
}

func TestSetMembership(t *testing.T) {
	s := NewSet("deploy:write", "tokens:read", "a")
	if !s.Has("a") || s.Has("deploy") || s.Has("deploy:writer") {
		t.Error("Has is wrong")
	}
	if !s.HasAll("tokens:read", "a") || s.HasAll("a", "b") || !s.HasAll() {
		t.Error("HasAll is wrong")
	}
	if got := s.Missing("z", "a", "b"); !slices.Equal(got, []string{"z", "b"}) {
		t.Errorf("Missing = %q, want [z b] in the asked order", got)
	}
	if got := s.Missing("a"); got != nil {
		t.Errorf("Missing of held scopes = %q, want nil", got)
	}
	if s.String() != "a deploy:write tokens:read" || NewSet().String() != "" {
		t.Errorf("String = %q", s.String())
	}
}

func TestSetUnmarshalJSONSortsAtTheEdge(t *testing.T) {
	var v struct {
		Scopes Set `json:"scopes"`
	}
	for _, c := range []struct {
		body string
		want Set // nil: absent or null
	}{
		{`{"scopes":["b","a","b"]}`, Set{"a", "b"}},
		{`{"scopes":[]}`, Set{}},
		{`{"scopes":null}`, nil},
		{`{}`, nil},
	} {
		v.Scopes = nil
		if err := json.Unmarshal([]byte(c.body), &v); err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if (v.Scopes == nil) != (c.want == nil) || !slices.Equal(v.Scopes, c.want) {
			t.Errorf("%s decoded to %#v, want %#v", c.body, v.Scopes, c.want)
		}
	}
	var typ *json.UnmarshalTypeError
	err := json.Unmarshal([]byte(`{"scopes":"a"}`), &v)
	if !errors.As(err, &typ) || typ.Field != "scopes" {
		t.Errorf("a string for a Set: %v; want an UnmarshalTypeError naming the field", err)
	}
}

// FuzzValid: a name Valid accepts travels space-separated (headers, the
// SQLite column, OAuth's scope string), so it must be one field of ASCII
// within MaxLen; and Valid never panics.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"deploy:write", "a b", "", "x:*", "é", strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if Valid(name) != nil {
			return
		}
		if f := strings.Fields(name); len(f) != 1 || f[0] != name || len(name) > MaxLen {
			t.Fatalf("Valid accepted %q", name)
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= utf8.RuneSelf {
				t.Fatalf("Valid accepted non-ASCII %q", name)
			}
		}
	})
}

// Both programs and both stores import scope, so it sits below all of
// them: it imports nothing of this module.
func TestImportsNothingOfOurs(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/tokenctl/") {
			t.Errorf("scope imports %s", imp)
		}
	}
}

// Package scope is what a scope is, once for both programs and both
// stores: a name's grammar and limits, tokend's built-in scopes, and Set,
// the sorted list without duplicates that a token carries. It imports
// nothing of ours, so tokenctl uses it without pulling in the server.
package scope

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Built-in scopes of tokend's own API. Every other scope is an application
// scope the operator defines.
const (
	TokensRead  = "tokens:read"  // list and show tokens, read the audit trail
	TokensWrite = "tokens:write" // create, rotate and delete tokens
	// TokensIntrospect lets a gateway ask POST /v1/introspect about any
	// user's token (RFC 7662); no token gets it unless asked for.
	TokensIntrospect = "tokens:introspect"
	// Only an admin's token may carry these (issue 23): every user's
	// tokens, events and accounts, through /v1/admin/.
	AdminRead  = "admin:read"
	AdminWrite = "admin:write"
)

// Builtin is one of tokend's own scopes and what it allows.
type Builtin struct {
	Name, Description string
}

// builtins is sorted by name.
var builtins = []Builtin{
	{AdminRead, "admins only: list every user's tokens, events and accounts"},
	{AdminWrite, "admins only: revoke any token, manage users and service accounts"},
	{TokensIntrospect, "introspect any token (RFC 7662), for a gateway"},
	{TokensRead, "list and show your tokens"},
	{TokensWrite, "create, rotate and delete your tokens"},
}

// Builtins returns tokend's own scopes, sorted by name.
func Builtins() []Builtin { return slices.Clone(builtins) }

// IsBuiltin reports whether name is one of tokend's own scopes, which the
// operator cannot add or delete.
func IsBuiltin(name string) bool {
	return name == TokensRead || name == TokensWrite || name == TokensIntrospect || IsAdmin(name)
}

// IsAdmin reports whether name is one only an admin's token may carry.
func IsAdmin(name string) bool { return name == AdminRead || name == AdminWrite }

// Limits. They are wire-visible (docs/openapi.yaml states MaxLen as the
// maxLength of a scope name), so changing one is an API change.
const (
	// MaxLen bounds a scope name, in bytes (names are ASCII).
	MaxLen = 64
	// MaxAsked bounds how many scopes one ?scope= filter of GET /v1/tokens
	// or GET /v1/auth/check may name: a token filter or a proxy's check
	// needs a few, and each one costs a comparison per row.
	MaxAsked = 32
)

// grammar: a lower-case word, then ':'-separated parts that may also hold
// '*' (deploy:write, app.read, registry:push:team-*). No spaces, so a list
// travels space-separated in headers, OAuth's scope string and the SQLite
// column.
var grammar = regexp.MustCompile(`^[a-z][a-z0-9_.-]*(:[a-z0-9_.*-]+)*$`)

// Valid says what is wrong with a scope name, or nil. The message quotes
// at most MaxLen bytes of name, so a hostile name cannot flood a log line.
func Valid(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a scope name must not be empty")
	case len(name) > MaxLen:
		return fmt.Errorf("scope name %q is too long: a scope name is at most %d characters", clip(name), MaxLen)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("scope name %q is malformed: a scope name has no spaces; name each scope separately (like deploy:write)", clip(name))
	case !grammar.MatchString(name):
		return fmt.Errorf("scope name %q is malformed: use lower-case letters, digits and . _ - in parts separated by ':' (like deploy:write)", clip(name))
	}
	return nil
}

func clip(s string) string {
	if len(s) <= MaxLen {
		return s
	}
	n := MaxLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Set is the scopes a token carries or a request names: sorted, without
// duplicates. Build one with NewSet (or decode one from JSON) at the edge
// where names come in; everything downstream (the server's checks, both
// stores) trusts the order and does not sort again. A Set written as a
// literal must already be sorted and unique.
type Set []string

// NewSet returns names sorted without duplicates, as a new slice that is
// never nil: an empty Set is "no scopes", which differs from an absent one.
func NewSet(names ...string) Set {
	s := append(Set{}, names...)
	slices.Sort(s)
	return slices.Compact(s)
}

// UnmarshalJSON decodes a JSON array of names into a Set, so a Set in a
// wire type is sorted the moment it is read. null leaves the Set nil.
func (s *Set) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	if names == nil {
		*s = nil
		return nil
	}
	*s = NewSet(names...)
	return nil
}

// Has reports whether name is in s.
func (s Set) Has(name string) bool {
	_, ok := slices.BinarySearch(s, name)
	return ok
}

// HasAll reports whether s holds every one of names.
func (s Set) HasAll(names ...string) bool {
	for _, n := range names {
		if !s.Has(n) {
			return false
		}
	}
	return true
}

// Missing returns the names not in s, in their order (nil when none).
func (s Set) Missing(names ...string) []string {
	var out []string
	for _, n := range names {
		if !s.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// String is s space-separated, the form of OAuth's scope parameter and
// of the X-Token-Scopes header; "" when empty.
func (s Set) String() string { return strings.Join(s, " ") }

// Package claimmatch decides whether an identity token's claims satisfy
// KEY=GLOB conditions: the one rule shared by trust policies (the token
// exchange) and SSO providers' --allow and --admin-if.
package claimmatch

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/tokenctl/tokenctl/internal/store"
)

// All reports whether every condition holds for claims; when one does not,
// failed names its claim (for the log and the audit trail, never for the
// person signing in). No conditions hold for every claim set.
func All(conds []store.ClaimMatch, claims map[string]any) (failed string, ok bool) {
	for _, c := range conds {
		if !Value(claims[c.Claim], c.Glob) {
			return c.Claim, false
		}
	}
	return "", true
}

// Value applies a glob to a decoded claim: strings as they are, numbers
// and booleans as their JSON text, an array when one of its elements
// matches. Objects, null and a missing claim never match.
func Value(v any, glob string) bool {
	if arr, ok := v.([]any); ok {
		return slices.ContainsFunc(arr, func(e any) bool {
			s, ok := Text(e)
			return ok && Glob(glob, s)
		})
	}
	s, ok := Text(v)
	return ok && Glob(glob, s)
}

// Text is a scalar claim as conditions see it: a string as it is, a number
// or boolean as its JSON text; ok is false for anything else.
func Text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number: // decoders that UseNumber keep the JSON text
		return v.String(), true
	case float64: // encoding/json's default for a number
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// Glob reports whether s matches pattern: '*' any run of characters (also
// '/' and ':'), '?' exactly one character, the rest literal and
// case-sensitive.
func Glob(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

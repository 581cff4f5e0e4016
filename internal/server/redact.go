package server

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/text"
)

// What the server repeats back (problem details, the audit log's source and
// user agent) passes through redact. It hides what is secret and nothing
// else, so that public values an operator needs, such as an issuer's kid
// (40 hex characters at Dex) or a subject (56 base64url characters), stay
// readable:
//
//   - a well-formed token of any prefix (its checksum holds): shown as its
//     key hint, so the client can tell which token it pasted;
//   - this server's token prefix followed by 16 or more base62 characters:
//     a token cut short (the missing checksum can be recomputed);
//   - a token's random part without its prefix: a run of 30 to 35 base62
//     characters that is not all hex digits (a random run is all hex with
//     odds of about 1 in 10^13, while kids and digests often are), or of
//     36 whose checksum holds under this server's prefix;
//   - anything JWT-shaped: base64url segments joined by dots, the first
//     starting "eyJ" (a JSON header);
//   - the request's own credential: its bearer value or Basic password
//     (redactFor).
const (
	secretShown     = "(a token secret, not shown)"
	jwtShown        = "(a JWT, not shown)"
	credentialShown = "(your credential, not shown)"
)

// minSecretTail is how many base62 characters after the prefix make a run
// a cut-off token: short enough to catch a truncated or partly pasted one,
// long enough to leave names such as "tkn_2026" alone.
const minSecretTail = 16

// A run without a prefix may be a token's random part when its length is
// between these: token ids (26 characters) are shorter, and a 40-character
// kid or 56-character subject longer.
const (
	minBareSecret = secret.RandomLen
	maxBareSecret = secret.RandomLen + secret.ChecksumLen
)

// minCredential is the shortest credential of the request's own that is
// hidden wherever it appears; a shorter one would hide ordinary words.
const minCredential = 8

// jwtShape is a compact JWS or JWE, whole or cut after its first dot.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)+`)

// prefixes are the token prefixes this process mints (every New adds its
// own; tokend runs one server, tests several). redact needs no request to
// know them, so quote and the audit log use the same rules as problems.
var prefixes atomic.Pointer[[]string]

func init() { registerPrefix(secret.DefaultPrefix) }

// registerPrefix adds p to prefixes.
func registerPrefix(p string) {
	for {
		old := prefixes.Load()
		var list []string
		if old != nil {
			if slices.Contains(*old, p) {
				return
			}
			list = slices.Clone(*old)
		}
		list = append(list, p)
		if prefixes.CompareAndSwap(old, &list) {
			return
		}
	}
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isWordByte(c byte) bool { return c == '_' || isBase62(c) }

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// base62Run is how many base62 characters s starts with.
func base62Run(s string) int {
	n := 0
	for n < len(s) && isBase62(s[n]) {
		n++
	}
	return n
}

// secretShaped reports whether word, a run of [A-Za-z0-9_], holds all or
// part of a token secret (a whole, well-formed token is found by redact
// before this is asked).
func secretShaped(word string) bool {
	known := *prefixes.Load()
	for _, p := range known {
		for i := strings.Index(word, p); i >= 0; {
			if base62Run(word[i+len(p):]) >= minSecretTail {
				return true
			}
			next := strings.Index(word[i+1:], p)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	for rest := word; rest != ""; {
		part, after, _ := strings.Cut(rest, "_")
		rest = after
		switch n := len(part); {
		case n >= minBareSecret && n < maxBareSecret && !allHex(part):
			return true
		case n == maxBareSecret:
			for _, p := range known {
				if _, err := secret.Parse(p + part); err == nil {
					return true
				}
			}
		}
	}
	return false
}

// redact returns s with every secret in it replaced (see above). What is
// not secret is returned unchanged.
func redact(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtShape.ReplaceAllLiteralString(s, jwtShown)
	}
	var b strings.Builder
	last, changed := 0, false
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		word := s[i:j]
		tok, err := secret.Parse(word)
		if err == nil || secretShaped(word) {
			b.WriteString(s[last:i])
			if err == nil {
				b.WriteString(tok.Hint())
			} else {
				b.WriteString(secretShown)
			}
			last, changed = j, true
		}
		i = j
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// redactFor is redact that also hides r's own credential, whatever its
// shape: a password or a foreign bearer value is as secret as a token.
func redactFor(r *http.Request, s string) string {
	s = redact(s)
	if r == nil {
		return s
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	if strings.EqualFold(scheme, "Basic") {
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return s
		}
		_, cred, _ = strings.Cut(string(raw), ":")
	}
	return hideCredential(s, cred)
}

// hideCredential replaces cred in s, and any cut-off copy of it at least
// minCredential long (quote cuts long input at its end).
func hideCredential(s, cred string) string {
	if len(cred) < minCredential {
		return s
	}
	head := cred[:minCredential]
	var b strings.Builder
	for {
		i := strings.Index(s, head)
		if i < 0 {
			break
		}
		n := minCredential
		for n < len(cred) && i+n < len(s) && s[i+n] == cred[n] {
			n++
		}
		b.WriteString(s[:i])
		b.WriteString(credentialShown)
		s = s[i+n:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s)
	return b.String()
}

// quote is how input appears in a problem detail: secrets redacted, cut to
// n bytes, Go-quoted.
func quote(s string, n int) string {
	return strconv.Quote(text.Truncate(redact(s), n))
}

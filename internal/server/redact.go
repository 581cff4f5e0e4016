package server

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// What the server repeats back (problem details, the audit log's source and
// user agent) passes through redact. It hides what is secret and nothing
// else, so that public values an operator needs, such as an issuer's kid
// (40 hex characters at Dex) or a subject (56 characters), stay readable:
//
//   - a token, of this server or another: a prefix ending in '_' and 16 or
//     more base62 characters (a cut-off token still leaks: the missing
//     checksum can be recomputed); a well-formed one goes back as its key
//     hint, so the client can tell which token it pasted;
//   - the random part of a token without its prefix: a run of 30 to 36
//     base62 characters (30 random, up to 6 of checksum) that is not all
//     hex digits (a random run is all hex with odds of about 1 in 10^13,
//     while kids and digests often are);
//   - anything JWT-shaped: base64url segments joined by dots, the first
//     starting "eyJ" (a JSON header);
//   - the request's own credential: its bearer value or Basic password.
const (
	secretShown     = "(a token secret, not shown)"
	jwtShown        = "(a JWT, not shown)"
	credentialShown = "(your credential, not shown)"
)

// minSecretTail is how many base62 characters after a prefix's '_' make a
// run look like a token: short enough to catch a truncated or partly pasted
// one, long enough to leave names such as "deploy_2026" alone.
const minSecretTail = 16

// A run without a prefix is a token's random part when its length is
// between these: token ids (26 characters) are shorter, and a 40-character
// kid or 56-character subject is longer than any token's tail.
const (
	minBareSecret = secret.RandomLen
	maxBareSecret = secret.RandomLen + secret.ChecksumLen
)

// minCredential is the shortest credential of the request's own that is
// hidden wherever it appears; a shorter one would hide ordinary words.
const minCredential = 8

// jwtShape is a compact JWS or JWE, whole or cut after its first dot.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)+`)

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

// secretShaped reports whether word, a run of [A-Za-z0-9_], holds all or
// part of a token secret.
func secretShaped(word string) bool {
	start := 0
	for start <= len(word) {
		end := strings.IndexByte(word[start:], '_')
		if end < 0 {
			end = len(word)
		} else {
			end += start
		}
		part := word[start:end]
		if start >= 2 { // after a prefix: at least one character and '_'
			if len(part) >= minSecretTail {
				return true
			}
		} else if len(part) >= minBareSecret && len(part) <= maxBareSecret && !allHex(part) {
			return true
		}
		start = end + 1
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
		if word := s[i:j]; secretShaped(word) {
			b.WriteString(s[last:i])
			if tok, err := secret.Parse(word); err == nil {
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
	return strconv.Quote(truncate(redact(s), n))
}

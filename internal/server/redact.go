package server

import (
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/text"
)

// secretShown replaces, in anything the server repeats back, a secret-shaped
// value it cannot name by key hint.
const secretShown = "(a token secret, not shown)"

// minSecretTail is how many base62 characters after a prefix's '_' make a
// run look like a secret: short enough to catch a truncated or partly pasted
// one (the cut-off checksum can be recomputed), long enough to leave names
// such as "deploy_2026" alone.
const minSecretTail = 16

// minBareSecret is how long a run of base62 characters without any prefix
// must be to look like the random part of a secret; token ids (26
// characters) stay shorter.
const minBareSecret = 30

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isWordByte(c byte) bool { return c == '_' || isBase62(c) }

// secretShaped reports whether word, a run of [A-Za-z0-9_], looks like all
// or part of a token secret.
func secretShaped(word string) bool {
	run := 0
	for i := 0; i < len(word); i++ {
		if word[i] == '_' {
			run = 0
			continue
		}
		run++
		if run >= minBareSecret {
			return true
		}
		// A tail after an underscore that follows at least one character.
		if run >= minSecretTail && i-run >= 1 && word[i-run] == '_' {
			return true
		}
	}
	return false
}

// redact returns s with every secret-shaped run replaced: by its key hint
// when the run is a well-formed secret, else by secretShown. What is not
// secret-shaped is returned unchanged.
func redact(s string) string {
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

// quote is how input appears in a problem detail: secrets redacted, cut to
// n bytes, Go-quoted.
func quote(s string, n int) string {
	return strconv.Quote(text.Truncate(redact(s), n))
}

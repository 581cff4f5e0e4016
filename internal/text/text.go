// Package text holds the small string helpers every command shares, so
// each exists once.
package text

import "strings"

// OneLine collapses every run of whitespace (newlines included) to one
// space, so a multi-line error fits the one-line message tokenctl prints.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Truncate cuts s to at most n runes, ending in "…" when it was cut (the
// ellipsis counts towards n). n < 1 yields "".
func Truncate(s string, n int) string {
	if n < 1 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

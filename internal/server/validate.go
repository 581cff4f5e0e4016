package server

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkText validates a name or description and returns what is wrong, or "".
func checkText(field, v string, maxLen int, multiline bool) string {
	if !utf8.ValidString(v) {
		return field + " must be valid UTF-8"
	}
	if !multiline && strings.TrimSpace(v) == "" {
		return field + " must not be empty"
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		return fmt.Sprintf("%s is %d characters long; the maximum is %d", field, n, maxLen)
	}
	visible := false
	for _, c := range v {
		if multiline && (c == '\n' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			return fmt.Sprintf("%s must not contain control characters (found %U)", field, c)
		}
		if isBidiControl(c) {
			// They reorder what a table or terminal shows around them.
			return fmt.Sprintf("%s must not contain bidirectional control characters (found %U)", field, c)
		}
		visible = visible || isVisible(c)
	}
	if !multiline && !visible {
		return field + " must contain at least one visible character"
	}
	return ""
}

// isBidiControl reports the explicit embedding, override and isolate
// controls (U+202A-U+202E, U+2066-U+2069).
func isBidiControl(c rune) bool {
	return c >= '\u202a' && c <= '\u202e' || c >= '\u2066' && c <= '\u2069'
}

// isVisible reports whether c draws a glyph: not a space, not a format
// character such as U+200B, and not one of the letters that render blank.
func isVisible(c rune) bool {
	switch c {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800':
		return false
	}
	return unicode.IsGraphic(c) && !unicode.IsSpace(c) && !unicode.Is(unicode.Cf, c) &&
		!unicode.Is(unicode.Mn, c) && !unicode.Is(unicode.Me, c)
}

package text

import (
	"testing"
	"unicode/utf8"
)

func TestOneLine(t *testing.T) {
	if got := OneLine("a\n  b\tc \r\n"); got != "a b c" {
		t.Fatalf("OneLine = %q", got)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"deploy", 10, "deploy"},
		{"deploy", 6, "deploy"},
		{"deploy-prod", 6, "deplo…"},
		{"ünïcödé", 4, "ünï…"},
		{"x", 0, ""},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if tc.n > 0 && utf8.RuneCountInString(got) > tc.n {
			t.Errorf("Truncate(%q, %d) is %d runes long", tc.in, tc.n, utf8.RuneCountInString(got))
		}
	}
}

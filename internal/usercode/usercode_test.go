package usercode

import (
	"strings"
	"testing"
)

func TestNewNormalizeFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := Normalize(Format(c)); !ok || n != c {
			t.Fatalf("Normalize(Format(%q)) = %q, %v", c, n, ok)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	for typed, want := range map[string]string{
		"bcdf-ghjk":                            "BCDFGHJK",
		" BCDF GHJK ":                          "BCDFGHJK",
		"BCDFGHJK":                             "BCDFGHJK",
		"BCDF-GHJ":                             "", // too short
		"BCDF-GHJKL":                           "", // too long
		"BCDF-GHJ0":                            "", // a digit
		"ABCD-EFGH":                            "", // vowels are not in the alphabet
		"BCDF-GHJ\x00":                         "",
		strings.Repeat("-", 1000) + "BCDFGHJK": "",
	} {
		got, ok := Normalize(typed)
		if got != want || ok != (want != "") {
			t.Errorf("Normalize(%q) = %q, %v; want %q", typed, got, ok, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("bcdf-ghjk")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := Normalize(s)
		if ok && (len(c) != Len || strings.Trim(c, Alphabet) != "") {
			t.Fatalf("Normalize(%q) = %q", s, c)
		}
	})
}

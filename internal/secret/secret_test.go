package secret

import (
	"errors"
	"strings"
	"testing"
)

func TestGenerateParseRoundTrip(t *testing.T) {
	for _, prefix := range []string{"tkn_", "acme_", "a_"} {
		tok, err := Generate(prefix)
		if err != nil {
			t.Fatal(err)
		}
		s := tok.String()
		if len(s) != len(prefix)+RandomLen+ChecksumLen || !strings.HasPrefix(s, prefix) {
			t.Fatalf("bad shape %q", s)
		}
		got, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got.Digest() != tok.Digest() || got.Prefix != prefix {
			t.Fatalf("round trip mismatch")
		}
		hint := got.Hint()
		if hint != prefix+tok.Random[:4]+"…"+tok.Random[26:] {
			t.Fatalf("hint %q", hint)
		}
	}
}

func TestGenerateIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		tok, err := Generate(DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok.String()] {
			t.Fatal("duplicate token")
		}
		seen[tok.String()] = true
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := Generate(DefaultPrefix)
	s := good.String()
	flip := []byte(s)
	if flip[10] == 'a' {
		flip[10] = 'b'
	} else {
		flip[10] = 'a'
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"truncated", s[:len(s)-1], ErrMalformed},
		{"one character changed", string(flip), ErrChecksum},
		{"non base62", s[:20] + "-" + s[21:], ErrMalformed},
		{"missing underscore prefix", "tkn" + s[4:], ErrMalformed},
		{"whitespace", s + " ", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"tkn_", "acme_", "A1_"} {
		if err := ValidPrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"", "_", "tkn", "t-k_", "averyveryverylongprefix_"} {
		if ValidPrefix(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func FuzzParse(f *testing.F) {
	tok, _ := Generate(DefaultPrefix)
	f.Add(tok.String())
	f.Add("tkn_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		// Anything accepted must round-trip and have a sane hint.
		if got.String() != s || !strings.HasPrefix(got.Hint(), got.Prefix) {
			t.Fatalf("accepted %q inconsistently", s)
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(DefaultPrefix); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAndDigest(b *testing.B) {
	tok, _ := Generate(DefaultPrefix)
	s := tok.String()
	for b.Loop() {
		t, err := Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		_ = t.Digest()
	}
}

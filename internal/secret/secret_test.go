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
		if hint != prefix+tok.Random[:4]+"…"+s[len(s)-4:] {
			t.Fatalf("hint %q", hint)
		}
	}
}

// A person compares a pasted secret with a listing by its two ends: the
// hint's last four are the secret's last four (checksum characters), not
// the last four random ones, which sit six characters from the end.
func TestHintShowsTheSecretsRealEnds(t *testing.T) {
	body := "tkn_a1B2cDeFgHiJkLmNoPqRsTuVwX" + "wxyz" // 30 random characters
	sum := checksum(body)
	tok, err := Parse(body + string(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	sec := tok.String()
	hint := tok.Hint()
	head, tail, ok := strings.Cut(hint, "…")
	if !ok || head != "tkn_a1B2" || !strings.HasSuffix(sec, tail) || len(tail) != 4 {
		t.Fatalf("hint %q of %q: want tkn_a1B2…%s", hint, sec, sec[len(sec)-4:])
	}
	if tail == tok.Random[len(tok.Random)-4:] {
		t.Fatalf("hint %q ends with the last random characters, not the secret's end", hint)
	}
	// Never more than 8 characters of the secret past the prefix.
	if n := len(head) + len(tail) - len(tok.Prefix); n != 8 {
		t.Fatalf("hint %q shows %d characters", hint, n)
	}
}

func TestHasHintAcceptsTheEarlierForm(t *testing.T) {
	tok, _ := Generate("acme_")
	r := tok.Random
	earlier := "acme_" + r[:4] + "…" + r[len(r)-4:]
	if !tok.HasHint(tok.Hint()) || !tok.HasHint(earlier) {
		t.Errorf("HasHint refuses %q or %q", tok.Hint(), earlier)
	}
	other, _ := Generate("acme_")
	for _, h := range []string{"", other.Hint(), "acme_" + r[:4] + "…", tok.Prefix + r[:8]} {
		if tok.HasHint(h) {
			t.Errorf("HasHint(%q) = true for %s", h, tok.Hint())
		}
	}
}

func TestHintOfAMangledCopy(t *testing.T) {
	tok, _ := Generate(DefaultPrefix)
	s := tok.String()
	bad := s[:10] + "!" + s[11:] // checksum no longer holds
	if got := HintOf(DefaultPrefix, bad); got != tok.Hint() {
		t.Errorf("HintOf(mangled) = %q, want the same ends as %q", got, tok.Hint())
	}
	for _, short := range []string{"", "tkn_", s[:20]} {
		if got := HintOf(DefaultPrefix, short); got != "tkn_…" {
			t.Errorf("HintOf(%q) = %q, want tkn_…", short, got)
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

package secret

import (
	"crypto/sha256"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestParseAndDigestAllocateNothing: both run on every authenticated
// request (issue 16). A checksum-invalid token is still refused by Parse.
func TestParseAndDigestAllocateNothing(t *testing.T) {
	tok, err := Generate("averylongprefix_")
	if err != nil {
		t.Fatal(err)
	}
	s := tok.String()
	bad := s[:len(s)-1] + string(alphabet[(indexOf(s[len(s)-1])+1)%62])
	var sink Digest
	got := testing.AllocsPerRun(100, func() {
		p, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		sink = p.Digest()
		if _, err := Parse(bad); err != ErrChecksum {
			t.Fatalf("Parse of a token with a wrong checksum: %v, want ErrChecksum", err)
		}
	})
	if got != 0 {
		t.Errorf("Parse and Digest make %.0f allocations, want 0", got)
	}
	if sink != sha256.Sum256([]byte(s)) {
		t.Error("Digest is not the SHA-256 of the token")
	}
}

func indexOf(c byte) int {
	for i := range len(alphabet) {
		if alphabet[i] == c {
			return i
		}
	}
	return -1
}

// TestCRC32MatchesHashCRC32: the table loop is crc32.ChecksumIEEE.
func TestCRC32MatchesHashCRC32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		b := make([]byte, n%80)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := crc32IEEE(string(b)), crc32.ChecksumIEEE(b); got != want {
			t.Fatalf("crc32IEEE(%x) = %08x, want %08x", b, got, want)
		}
	}
}

// TestDigestOfAnyLength: a Token built some other way than Parse or
// Generate (longer than any real one) still hashes all of it.
func TestDigestOfAnyLength(t *testing.T) {
	for _, n := range []int{0, 1, 52, 53, 200} {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte('a' + i%26)
		}
		if got := (Token{raw: string(raw)}).Digest(); got != sha256.Sum256(raw) {
			t.Errorf("Digest of %d bytes is not their SHA-256", n)
		}
	}
}

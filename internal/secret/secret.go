// Package secret generates and checks personal access tokens.
//
// A token is PREFIX + 30 random base62 characters + 6 base62 characters of
// the CRC32 (IEEE) of everything before them. The random part carries about
// 178 bits of entropy, so a plain SHA-256 digest is a safe thing to store and
// look up by; the checksum lets clients and secret scanners reject a mistyped
// or truncated token without asking the server.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

const (
	// DefaultPrefix is the prefix tokend uses unless told otherwise.
	DefaultPrefix = "tkn_"
	// RandomLen is the number of random base62 characters.
	RandomLen = 30
	// ChecksumLen is the number of base62 characters of the CRC32.
	ChecksumLen = 6
	// MaxPrefixLen bounds a prefix so a token stays a sane header value.
	MaxPrefixLen = 16

	alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// ErrMalformed is returned for anything that is not a well-formed token.
var ErrMalformed = errors.New("not a well-formed token")

// ErrChecksum is returned when the shape is right but the checksum is not:
// a typo or a truncated paste.
var ErrChecksum = errors.New("token checksum does not match (mistyped or truncated?)")

// Digest is the SHA-256 of a token; the only form the server stores.
type Digest [sha256.Size]byte

// Token is a parsed, checksum-verified token.
type Token struct {
	Prefix string
	Random string
	raw    string
}

// String returns the whole secret.
func (t Token) String() string { return t.raw }

// Digest returns the SHA-256 digest of the whole secret. It runs on every
// authenticated request, so the bytes are hashed from a stack buffer
// rather than a []byte conversion, which allocates past 32 bytes.
func (t Token) Digest() Digest {
	var b [MaxPrefixLen + RandomLen + ChecksumLen]byte
	if len(t.raw) > len(b) {
		return sha256.Sum256([]byte(t.raw)) // never for a parsed or generated token
	}
	n := copy(b[:], t.raw)
	return sha256.Sum256(b[:n])
}

// Hint returns what may be shown of a token: the prefix, the first 4
// random characters and the last 4 characters of the whole secret, e.g.
// "tkn_a1B2…x9Z0". A person matches a pasted secret to a listing by its
// two ends, so the hint shows the secret's real ends (its last four are
// checksum characters). Never more than these 8 characters.
func (t Token) Hint() string { return HintOf(t.Prefix, t.raw) }

// HintOf is the key hint of s, a string of a token's shape starting with
// prefix, whether or not its checksum holds: a mangled copy found in a leak
// still needs a name a person can match. Too short a string gives only
// the prefix and "…".
func HintOf(prefix, s string) string {
	if len(s) < len(prefix)+RandomLen+ChecksumLen {
		return prefix + "…"
	}
	return prefix + s[len(prefix):len(prefix)+4] + "…" + s[len(s)-4:]
}

// HasHint reports whether hint describes t: its Hint, or the earlier form
// (the last 4 random characters instead of the secret's last 4) that
// tokens made and state files written before the change still hold; see
// docs/decisions.md, "Key hint".
func (t Token) HasHint(hint string) bool {
	return hint == t.Hint() || hint == t.Prefix+t.Random[:4]+"…"+t.Random[len(t.Random)-4:]
}

// ValidPrefix reports whether p can be used as a token prefix: 1 to 16
// characters of [A-Za-z0-9_], ending in an underscore.
func ValidPrefix(p string) error {
	if len(p) < 2 || len(p) > MaxPrefixLen || !strings.HasSuffix(p, "_") {
		return fmt.Errorf("token prefix %q must be 2 to %d characters ending in '_'", p, MaxPrefixLen)
	}
	for _, c := range p {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("token prefix %q may hold only letters, digits and '_'", p)
		}
	}
	return nil
}

// Generate returns a new random token with the given prefix.
func Generate(prefix string) (Token, error) {
	if err := ValidPrefix(prefix); err != nil {
		return Token{}, err
	}
	random := make([]byte, RandomLen)
	// rand.Text-style rejection sampling keeps the distribution uniform.
	var buf [64]byte
	for i := 0; i < RandomLen; {
		if _, err := rand.Read(buf[:]); err != nil {
			return Token{}, fmt.Errorf("read random: %w", err)
		}
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62; larger values would bias the modulo
				continue
			}
			random[i] = alphabet[int(b)%62]
			i++
			if i == RandomLen {
				break
			}
		}
	}
	body := prefix + string(random)
	sum := checksum(body)
	return Token{Prefix: prefix, Random: string(random), raw: body + string(sum[:])}, nil
}

// Parse checks the shape and checksum of s without knowing the server's
// prefix: the last 36 characters are the random part and the checksum, and
// everything before them is the prefix.
func Parse(s string) (Token, error) {
	n := len(s) - RandomLen - ChecksumLen
	if n < 2 {
		return Token{}, ErrMalformed
	}
	prefix, random, sum := s[:n], s[n:n+RandomLen], s[n+RandomLen:]
	if ValidPrefix(prefix) != nil {
		return Token{}, ErrMalformed
	}
	for i := 0; i < len(random)+len(sum); i++ {
		var c byte
		if i < len(random) {
			c = random[i]
		} else {
			c = sum[i-len(random)]
		}
		if strings.IndexByte(alphabet, c) < 0 {
			return Token{}, ErrMalformed
		}
	}
	// The prefix and the random part are s's first bytes: no copy needed.
	if want := checksum(s[:n+RandomLen]); string(want[:]) != sum {
		return Token{}, ErrChecksum
	}
	return Token{Prefix: prefix, Random: random, raw: s}, nil
}

// checksum encodes CRC32(body) as exactly ChecksumLen base62 characters.
// It returns an array, not a string, so that Parse allocates nothing.
func checksum(body string) [ChecksumLen]byte {
	v := crc32IEEE(body)
	var out [ChecksumLen]byte
	for i := ChecksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[v%62]
		v /= 62
	}
	return out
}

// crc32IEEE is crc32.ChecksumIEEE of a string, byte by byte over the IEEE
// table: the []byte conversion ChecksumIEEE needs escapes to the heap, and
// a token is under 60 bytes, so the table loop costs next to nothing.
func crc32IEEE(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}

// Package usercode makes and reads the one-time codes a person types to
// approve a device sign-in (RFC 8628 §6.1): 8 characters from 20
// consonants, so no vowel spells a word and no two letters look alike
// (no 0/O, 1/I/L, 5/S confusion with digits: there are none).
package usercode

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// Alphabet is the characters a code is drawn from.
const Alphabet = "BCDFGHJKLMNPQRSTVWXZ"

// Len is how many characters a code has: 20^8 ≈ 2^34.6 codes, enough
// with the per-address limit on wrong guesses and a 10-minute life.
const Len = 8

// New returns a fresh code, normalised (no dash).
func New() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(Alphabet)))
	for range Len {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(Alphabet[n.Int64()])
	}
	return b.String(), nil
}

// Normalize reads what a person typed: case, spaces and dashes do not
// matter. ok is false unless the rest is Len characters of Alphabet.
func Normalize(typed string) (code string, ok bool) {
	if len(typed) > 4*Len { // bound the work on hostile input
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(Alphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != Len {
		return "", false
	}
	return b.String(), true
}

// Format shows a normalised code the way people read it: BCDF-GHJK.
func Format(code string) string {
	if len(code) != Len {
		return code
	}
	return code[:Len/2] + "-" + code[Len/2:]
}

// Package password hashes and verifies user passwords with argon2id, encoded
// as a PHC-style string so the parameters travel with the hash and can be
// raised later without breaking stored users.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Parameters follow the OWASP argon2id recommendation (19 MiB, 2 passes,
// 1 lane): strong enough for interactive logins while keeping a burst of
// Basic-auth requests from exhausting the server's memory.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
	// MaxLen bounds what we hash, so a huge "password" cannot be used to
	// make the server burn CPU.
	MaxLen = 1024
)

// ErrMalformedHash means a stored hash is not in a format this package knows.
var ErrMalformedHash = errors.New("malformed password hash")

var b64 = base64.RawStdEncoding

// Hash returns the encoded argon2id hash of password with a fresh salt.
func Hash(password string) (string, error) {
	if password == "" {
		return "", errors.New("password is empty")
	}
	if len(password) > MaxLen {
		return "", fmt.Errorf("password is longer than %d bytes", MaxLen)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// made by Hash or a bcrypt hash. The comparison is constant-time.
func Verify(password, encoded string) (bool, error) {
	if len(password) > MaxLen {
		return false, nil
	}
	if strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$") {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.passes, p.memory, p.lanes, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

type params struct {
	memory uint32
	passes uint32
	lanes  uint8
}

func decode(encoded string) (params, []byte, []byte, error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return params{}, nil, nil, fmt.Errorf("%w: unsupported argon2 version", ErrMalformedHash)
	}
	var p params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.passes, &p.lanes); err != nil {
		return params{}, nil, nil, fmt.Errorf("%w: parameters: %v", ErrMalformedHash, err)
	}
	// Refuse parameters that would let a tampered row exhaust the server.
	if p.memory < 8 || p.memory > 1<<21 || p.passes < 1 || p.passes > 16 || p.lanes < 1 {
		return params{}, nil, nil, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return params{}, nil, nil, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return params{}, nil, nil, fmt.Errorf("%w: key", ErrMalformedHash)
	}
	return p, salt, key, nil
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// VerifyDummy spends the same effort as Verify against a real hash, for a
// username that does not exist, so response time does not reveal which
// usernames are taken.
func VerifyDummy(password string) {
	dummyOnce.Do(func() {
		h, err := Hash("tokend-dummy-password")
		if err == nil {
			dummyHash = h
		}
	})
	if dummyHash != "" {
		_, _ = Verify(password, dummyHash)
	}
}

package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashThenVerify(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected encoding prefix in %q", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"same password matches", "correct horse", true},
		{"different password does not match", "correct horsf", false},
		{"empty password does not match", "", false},
		{"prefix of the password does not match", "correct", false},
		{"oversized password does not match", strings.Repeat("x", MaxLen+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.password, h)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	a, _ := Hash("pw")
	b, _ := Hash("pw")
	if a == b {
		t.Fatal("two hashes of the same password are identical; salt is not random")
	}
}

func TestHashRefusesEmptyAndHugePasswords(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("p", MaxLen+1)} {
		if _, err := Hash(pw); err == nil {
			t.Errorf("Hash(%d bytes) succeeded, want an error", len(pw))
		}
	}
}

func TestVerifyAcceptsBcrypt(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"s3cret": true, "s3creT": false} {
		got, err := Verify(pw, string(h))
		if err != nil || got != want {
			t.Errorf("Verify(bcrypt) = %v, %v; want %v", got, err, want)
		}
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	good, _ := Hash("pw")
	parts := strings.Split(good, "$")
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"plain text", "pw"},
		{"wrong algorithm", "$argon2i$" + strings.Join(parts[2:], "$")},
		{"wrong version", "$argon2id$v=16$" + strings.Join(parts[3:], "$")},
		{"huge memory", "$argon2id$v=19$m=99999999,t=2,p=1$" + parts[4] + "$" + parts[5]},
		{"zero passes", "$argon2id$v=19$m=19456,t=0,p=1$" + parts[4] + "$" + parts[5]},
		{"bad salt", "$argon2id$v=19$m=19456,t=2,p=1$!!!$" + parts[5]},
		{"short key", "$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$AAAA"},
		{"missing field", strings.Join(parts[:5], "$")},
		{"broken bcrypt", "$2b$10$short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Verify("pw", tt.hash)
			if ok {
				t.Fatal("malformed hash verified")
			}
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("err = %v, want ErrMalformedHash", err)
			}
		})
	}
}

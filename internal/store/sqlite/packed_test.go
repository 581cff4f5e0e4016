package sqlite

import (
	"context"
	"crypto/sha256"
	"reflect"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
)

// TestTokenByDigestPackedRowRoundTrips: TokenByDigest reads the row packed
// into one string; whatever the strings hold (the packing's own separators,
// digits, multi-byte runes, a NUL byte, nothing at all) it must answer
// exactly what the plain reads answer.
func TestTokenByDigestPackedRowRoundTrips(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	u := store.User{ID: store.NewID(time.Now()), Username: "ä|1 2-3", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: time.Unix(1_700_000_000, 123).UTC(),
		Role: store.RoleAdmin, Kind: store.KindService}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	cases := []struct {
		name, desc, hint string
		scopes           []string
	}{
		{"plain", "", "tkn_abcd…wxyz", []string{"tokens:read", "tokens:write"}},
		{"12 34|56", "| 7 8 -|", "tkn_|…| ", []string{"deploy:write"}},
		{"nul\x00inside", "émoji 🔑 and\nnewline", "x", nil},
		{"-", "-", "-", []string{"a:b", "c"}},
	}
	for i, c := range cases {
		if i == len(cases)-1 { // the disabled flag and time travel too
			if err := s.SetUserDisabled(ctx, u.Username, true, now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		digest := sha256.Sum256([]byte(c.name))
		created, _, err := s.CreateToken(ctx, store.NewToken{ID: store.NewID(now.Add(time.Duration(i) * time.Millisecond)), UserID: u.ID,
			Name: c.name, Description: c.desc, KeyHint: c.hint, Scopes: c.scopes, Digest: digest, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 { // half with last_used_at set, half NULL
			if err := s.TouchToken(ctx, created.ID, now.Add(time.Minute), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		want, err := s.GetToken(ctx, u.ID, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantUser, err := s.UserByName(ctx, u.Username)
		if err != nil {
			t.Fatal(err)
		}
		got, gotUser, err := s.TokenByDigest(ctx, digest)
		if err != nil {
			t.Fatalf("%q: %v", c.name, err)
		}
		if (got.LastUsedAt == nil) != (want.LastUsedAt == nil) ||
			got.LastUsedAt != nil && !got.LastUsedAt.Equal(*want.LastUsedAt) {
			t.Errorf("%q: last used %v, want %v", c.name, got.LastUsedAt, want.LastUsedAt)
		}
		got.LastUsedAt, want.LastUsedAt = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: token\n got %+v\nwant %+v", c.name, got, want)
		}
		if gotUser != wantUser || gotUser.Role != store.RoleAdmin || gotUser.Kind != store.KindService || gotUser.Disabled != (i == len(cases)-1) {
			t.Errorf("%q: user\n got %+v\nwant %+v", c.name, gotUser, wantUser)
		}
	}
}

func TestUnpackRowRefusesMalformedRows(t *testing.T) {
	good := "1 1 1 0 1 1 1 0 1 1 10 20 - 30 -|abcdefgh"
	if _, _, ok := unpackRow(good); !ok {
		t.Fatalf("unpackRow(%q) refused a well-formed row", good)
	}
	for _, row := range []string{
		"",
		"abcdef",
		"1 1 1 0 1 1 1 0 1 1 10 20 - 30 -|abcdefg",   // a byte short
		"1 1 1 0 1 1 1 0 1 1 10 20 - 30 -|abcdefghi", // a byte long
		"1 1 1 0 1 1 1 0 1 10 20 - 30 -|abcdefgh",    // a field missing
		"1 1 1 0 1 1 1 0 1 1 10 20 x 30 -|abcdefgh",  // not a number
		"1 1 1 0 1 1 1 0 1 1 10 20 - 30 x|abcdefgh",  // disabled not a number
		"-1 2 1 0 1 1 1 0 1 1 10 20 - 30 -|abcdefgh", // negative length
		"1 1 1 0 1 1 1 0 1 1 10 20 - 30 - |abcdefgh", // trailing space
	} {
		if _, _, ok := unpackRow(row); ok {
			t.Errorf("unpackRow(%q) accepted a malformed row", row)
		}
	}
}

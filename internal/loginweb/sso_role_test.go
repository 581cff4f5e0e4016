package loginweb

import (
	"testing"

	"github.com/tokenctl/tokenctl/internal/store"
)

func TestAdminMatches(t *testing.T) {
	claims := map[string]any{"groups": []any{"eng", "platform-admins"}, "email": "ada@example.com", "email_verified": true}
	for _, c := range []struct {
		name    string
		adminIf []store.ClaimMatch
		want    bool
	}{
		{"no --admin-if makes nobody an admin", nil, false},
		{"a group in the list", []store.ClaimMatch{{Claim: "groups", Glob: "platform-admins"}}, true},
		{"a group glob", []store.ClaimMatch{{Claim: "groups", Glob: "*-admins"}}, true},
		{"a group not in the list", []store.ClaimMatch{{Claim: "groups", Glob: "root"}}, false},
		{"every condition must hold", []store.ClaimMatch{{Claim: "groups", Glob: "eng"}, {Claim: "email", Glob: "*@other.com"}}, false},
		{"all hold", []store.ClaimMatch{{Claim: "groups", Glob: "eng"}, {Claim: "email_verified", Glob: "true"}}, true},
		{"a missing claim", []store.ClaimMatch{{Claim: "roles", Glob: "*"}}, false},
	} {
		if got := adminMatches(store.SSOProvider{AdminIf: c.adminIf}, claims); got != c.want {
			t.Errorf("%s: adminMatches = %v, want %v", c.name, got, c.want)
		}
	}
	// Until issue 23 lands the seams are inert: nobody is disabled, and
	// making an admin is a no-op that does not fail the sign-in.
	if userDisabled(store.User{Username: "ada"}) {
		t.Error("userDisabled before issue 23")
	}
	if err := makeAdmin(t.Context(), nil, store.User{Username: "ada"}); err != nil {
		t.Errorf("makeAdmin = %v", err)
	}
}

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
	for _, c := range []struct {
		u    store.User
		want bool
	}{
		{store.User{Username: "ada", Kind: store.KindPerson}, false},
		{store.User{Username: "ada", Kind: store.KindPerson, Disabled: true}, true},
		{store.User{Username: "jenkins", Kind: store.KindService}, true},
	} {
		if got := userDisabled(c.u); got != c.want {
			t.Errorf("userDisabled(%+v) = %v, want %v", c.u, got, c.want)
		}
	}
}

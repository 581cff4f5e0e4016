package store

import (
	"strings"
	"testing"
)

// Both backends store users through WithDefaults and check roles through
// CheckRole, so their defaults and refusals cannot drift apart.
func TestUserWithDefaults(t *testing.T) {
	u, err := User{Username: "alice"}.WithDefaults()
	if err != nil || u.Role != RoleMember || u.Kind != KindPerson {
		t.Fatalf("WithDefaults() = %+v, %v; want role %s, kind %s", u, err, RoleMember, KindPerson)
	}
	u, err = User{Role: RoleAdmin, Kind: KindService}.WithDefaults()
	if err != nil || u.Role != RoleAdmin || u.Kind != KindService {
		t.Fatalf("WithDefaults() changed a set role or kind: %+v, %v", u, err)
	}
	if _, err := (User{Role: "root"}).WithDefaults(); err == nil || !strings.Contains(err.Error(), `role "root" is neither member nor admin`) {
		t.Errorf("role root: err = %v", err)
	}
	if _, err := (User{Kind: "robot"}).WithDefaults(); err == nil || !strings.Contains(err.Error(), `kind "robot" is neither person nor service`) {
		t.Errorf("kind robot: err = %v", err)
	}
	if err := CheckRole(RoleAdmin); err != nil {
		t.Errorf("CheckRole(admin) = %v", err)
	}
}

// Both backends store a provider's scopes and conditions through Columns
// and read them back through SetColumns.
func TestSSOColumnsRoundTrip(t *testing.T) {
	p := SSOProvider{Name: "corp", Scopes: []string{"groups", "", "email", "groups"},
		Allow: []ClaimMatch{{Claim: "hd", Glob: "example.com"}}}
	c, err := p.Columns()
	if err != nil || c.Scopes != "email groups" {
		t.Fatalf("Columns() = %+v, %v; want scopes %q", c, err, "email groups")
	}
	var back SSOProvider
	back.Name = "corp"
	if err := back.SetColumns(c); err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Scopes, " ") != "email groups" || len(back.Allow) != 1 || back.Allow[0] != p.Allow[0] || len(back.AdminIf) != 0 {
		t.Errorf("SetColumns(Columns()) = %+v", back)
	}
	if err := back.SetColumns(SSOColumns{Allow: "{not json"}); err == nil || !strings.Contains(err.Error(), "sso provider corp:") {
		t.Errorf("SetColumns of a broken allow column = %v, want an error naming corp", err)
	}
}

// Both backends decide through Windowed whether ScanTokens reads a bounded
// window or the page straight off the index, and refuse the same limits.
func TestListOptionsWindowed(t *testing.T) {
	for _, c := range []struct {
		name string
		o    ListOptions
		want bool
	}{
		{"no filter, window larger than the page", ListOptions{Status: StatusAll, Limit: 10, MaxScan: 100}, false},
		{"no filter, window no larger than the page", ListOptions{Status: StatusAll, Limit: 100, MaxScan: 100}, true},
		{"a name filter", ListOptions{Status: StatusAll, NameGlob: "ci-*", Limit: 10, MaxScan: 100}, true},
		{"a status filter", ListOptions{Status: StatusActive, Limit: 10, MaxScan: 100}, true},
		{"a filter but no window", ListOptions{Status: StatusActive, Limit: 10}, false},
	} {
		if got, err := c.o.Windowed(); err != nil || got != c.want {
			t.Errorf("%s: Windowed() = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	for _, limit := range []int{0, 1001} {
		if _, err := (ListOptions{Limit: limit}).Windowed(); err == nil || !strings.Contains(err.Error(), "is outside 1..") {
			t.Errorf("limit %d: err = %v, want the outside-1..max refusal", limit, err)
		}
	}
}

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

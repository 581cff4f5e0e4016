package loginweb

// Where browser sign-in meets issue 23's roles and disabled users.

import (
	"context"

	"github.com/tokenctl/tokenctl/internal/claimmatch"
	"github.com/tokenctl/tokenctl/internal/store"
)

// userDisabled reports whether u may not sign in: a disabled user, or a
// service account (issue 23: they never sign in; an admin mints theirs).
func userDisabled(u store.User) bool {
	return u.Disabled || u.Kind == store.KindService
}

// makeAdmin gives u the administrator role.
func makeAdmin(ctx context.Context, st store.Store, u store.User) error {
	return st.SetUserRole(ctx, u.Username, store.RoleAdmin)
}

// adminMatches reports whether a person signing in through p with claims
// is to be an administrator: p has --admin-if conditions and every one
// holds. No conditions never makes anyone an administrator.
func adminMatches(p store.SSOProvider, claims map[string]any) bool {
	if len(p.AdminIf) == 0 {
		return false
	}
	_, ok := claimmatch.All(p.AdminIf, claims)
	return ok
}

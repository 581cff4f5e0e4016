package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/credential"
)

// isLoginToken reports whether a's token is one tokenctl minted to log in
// (a password or OIDC login): nobody else holds it, so when tokenctl lets
// go of it (a new login replaces it, or logout) it is revoked. A token
// given with --with-token may be in use elsewhere and never is. Records
// from before login_token was kept are recognised by the name.
func isLoginToken(a *credential.Account) bool {
	return a != nil && a.TokenID != "" && (a.LoginToken || strings.HasPrefix(a.TokenName, loginTokenPrefix))
}

// revokeLoginToken deletes login token id with del, which re-login and
// logout each send their own way (by id with the new token; the token
// itself through /v1/tokens/current). A token the server no longer knows
// or accepts is as good as revoked. On failure it returns the line that
// says so, naming the id and the command that deletes it later; what is
// "the login token it replaced" or "the login token".
func revokeLoginToken(ctx context.Context, id, what string, del func(context.Context) error) (revoked bool, warning string) {
	err := del(ctx)
	switch {
	case err == nil:
		return true, ""
	case client.IsStatus(err, http.StatusNotFound), client.IsStatus(err, http.StatusUnauthorized):
		return false, ""
	}
	return false, fmt.Sprintf("warning: could not revoke %s (id %s): %v; delete it with `tokenctl token delete %s`", what, id, err, id)
}

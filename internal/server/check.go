package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/text"
)

// Response headers of a 204 from GET /v1/auth/check, for the proxy to
// pass on to the service behind it.
const (
	HeaderTokenUser   = "X-Token-User"
	HeaderTokenID     = "X-Token-Id"
	HeaderTokenScopes = "X-Token-Scopes"
)

// handleAuthCheck is the forward-auth endpoint (nginx auth_request, Caddy
// forward_auth, Traefik ForwardAuth): 204 and who it is when the
// Authorization header carries a live token with every asked scope. It is
// the hottest path: the same single indexed read as GET /v1/user, and no
// body on success.
func (s *server) handleAuthCheck(w http.ResponseWriter, r *http.Request, _ *principal) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeBadRequest, "the query string is malformed: "+text.Truncate(err.Error(), 100)))
		return
	}
	want, prob := queryScopes(q["scope"])
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	if len(r.Header.Values("Authorization")) > 1 {
		// A service behind the proxy that reads Authorization itself might
		// act on the header this check did not look at.
		writeProblem(w, r, http.StatusBadRequest, api.CodeBadRequest, "send one Authorization header, not several")
		return
	}
	// Only tokens are checked: a service behind the proxy should never see
	// passwords, and a password check here would be a brute-force oracle
	// that costs an argon2id hash per request.
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		s.unauthorized(w, r, false, wwwAuthenticateBearer, "auth/check accepts only tokens; send Authorization: Bearer <token>")
		return
	}
	p, ok := s.authBearer(w, r, strings.TrimSpace(cred), wwwAuthenticateBearer)
	if !ok {
		return
	}
	if !hasScopes(p.token.Scopes, want...) {
		s.insufficientScope(w, r, want, p.token.Scopes)
		return
	}
	h := w.Header()
	h.Set(HeaderTokenUser, p.user.Username)
	h.Set(HeaderTokenID, p.token.ID)
	h.Set(HeaderTokenScopes, strings.Join(p.token.Scopes, " "))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

package server

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// Introspection is the RFC 7662 answer of POST /v1/introspect. An inactive
// token gets {"active": false} and nothing else: a gateway learns nothing
// about why, nor whether the secret ever existed.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	Username  string `json:"username,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	TokenType string `json:"token_type,omitempty"`
}

// handleIntrospect is POST /v1/introspect (RFC 7662). The caller is a
// gateway holding a token with tokens:introspect, sent as a bearer token
// or, as RFC 7662 clients do, as the secret of HTTP Basic (any client id);
// a username and password act with no token, so they are refused like a
// token without the scope.
//
// Introspecting does not touch the introspected token's last_used_at: it
// is the gateway asking, not the token being used against tokend, and a
// gateway that caches answers would make the column mean little anyway
// (docs/decisions.md, "Introspection and last use").
func (s *server) handleIntrospect(w http.ResponseWriter, r *http.Request, _ *principal) {
	p, ok := s.introspectCaller(w, r)
	if !ok {
		return
	}
	if p.token == nil || !hasScopes(p.token.Scopes, scope.TokensIntrospect) {
		var have []string
		if p.token != nil {
			have = p.token.Scopes
		}
		s.insufficientScope(w, r, []string{scope.TokensIntrospect}, have)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		writeProblem(w, r, http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia,
			"send the token as a form: Content-Type application/x-www-form-urlencoded, body token=...")
		return
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, r, newProblem(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge, "request body is too large"))
			return
		}
		writeProblem(w, r, http.StatusBadRequest, api.CodeBadRequest, "the body is not a valid form; send token=...")
		return
	}
	// Only the body counts (RFC 7662 2.1): a token in the query string
	// would land in access logs.
	vals := r.PostForm["token"]
	if len(vals) != 1 || vals[0] == "" {
		writeProblem(w, r, http.StatusBadRequest, api.CodeValidation, "send exactly one token=... form field")
		return
	}
	// token_type_hint is advisory (RFC 7662 2.1); we have one kind.
	w.Header().Set("Cache-Control", "no-store")
	tok, err := secret.Parse(strings.TrimSpace(vals[0]))
	if err != nil {
		encode(w, http.StatusOK, Introspection{})
		return
	}
	st, user, err := s.store.TokenByDigest(r.Context(), tok.Digest())
	if errors.Is(err, store.ErrNotFound) {
		encode(w, http.StatusOK, Introspection{})
		return
	}
	if err != nil {
		s.internalError(w, r, "introspect token", err)
		return
	}
	// A disabled user's tokens are refused everywhere (auth.go), so they
	// are not active to a gateway either.
	if user.Disabled || st.Expired(s.cfg.Now()) {
		encode(w, http.StatusOK, Introspection{})
		return
	}
	encode(w, http.StatusOK, Introspection{
		Active:    true,
		Scope:     strings.Join(st.Scopes, " "),
		Username:  user.Username,
		Sub:       user.ID,
		Exp:       st.ExpiresAt.Unix(),
		Iat:       st.CreatedAt.Unix(),
		TokenType: "Bearer",
	})
}

// introspectCaller authenticates the gateway. OAuth clients send their
// credential as client_secret_basic (RFC 6749 2.3.1): a Basic password
// that is shaped like a token is taken as that token, so a stock RFC 7662
// client configured with the token as its secret works unchanged.
func (s *server) introspectCaller(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	if _, pw, ok := r.BasicAuth(); ok && len(r.Header.Values("Authorization")) == 1 {
		if _, err := secret.Parse(pw); err == nil {
			return s.authBearer(w, r, pw, wwwAuthenticate)
		}
	}
	return s.authenticate(w, r)
}

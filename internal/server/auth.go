package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// principal is who a request acts as: a user, and the token used if the
// request came with a PAT (a PAT has exactly its user's rights).
type principal struct {
	user  store.User
	token *store.Token

	tok store.Token // what token points to for a PAT: one allocation, not two
}

const wwwAuthenticate = `Bearer realm="tokend", Basic realm="tokend", charset="UTF-8"`

// authenticate resolves the Authorization header or answers 401 (counting
// the failure against the client address) and reports false.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	if len(r.Header.Values("Authorization")) > 1 {
		// "First wins" would let a proxy and tokend disagree on who asks.
		writeProblem(w, r, http.StatusBadRequest, api.CodeBadRequest, "send one Authorization header, not several")
		return nil, false
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		s.unauthorized(w, r, false, "missing credentials; send Authorization: Bearer <token> or HTTP Basic username and password")
		return nil, false
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return s.authBearer(w, r, cred)
	case strings.EqualFold(scheme, "Basic"):
		return s.authBasic(w, r)
	default:
		s.unauthorized(w, r, true, "unsupported authorization scheme; use Bearer or Basic")
		return nil, false
	}
}

func (s *server) authBearer(w http.ResponseWriter, r *http.Request, cred string) (*principal, bool) {
	// The checksum is checked before the store is asked, so typos and
	// random guesses cost no database work.
	tok, err := secret.Parse(cred)
	if err != nil {
		detail := "the bearer token is not a well-formed token"
		if errors.Is(err, secret.ErrChecksum) {
			detail = "the bearer token's checksum does not match; it was mistyped or truncated"
		}
		s.unauthorized(w, r, true, detail)
		return nil, false
	}
	st, user, err := s.store.TokenByDigest(r.Context(), tok.Digest())
	if errors.Is(err, store.ErrNotFound) {
		s.unauthorized(w, r, true, "the bearer token is unknown, deleted or rotated")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "authenticate token", err)
		return nil, false
	}
	if user.Disabled {
		// Offboarding: the flag comes with the token's row, so one write
		// refuses every token of the user on the next request anywhere.
		s.unauthorized(w, r, true, "the account "+user.Username+" is disabled; ask an admin to enable it")
		return nil, false
	}
	now := s.cfg.Now()
	if st.Expired(now) {
		s.authFailed(r, user, &st, reasonExpiredToken)
		s.unauthorized(w, r, true, "the bearer token expired at "+st.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")+"; create a new one")
		return nil, false
	}
	// Only write when the recorded use is stale, so authentication stays a
	// single read on the hot path.
	if st.LastUsedAt == nil || now.Sub(*st.LastUsedAt) >= touchInterval {
		// Whole seconds, like created_at and expires_at.
		at := now.UTC().Truncate(time.Second)
		if err := s.store.TouchToken(r.Context(), st.ID, at, touchInterval); err != nil {
			s.log.WarnContext(r.Context(), "record token use", "request_id", requestID(r), "token_id", st.ID, "error", err.Error())
		} else {
			st.LastUsedAt = &at
		}
	}
	s.authenticated(r, user)
	p := &principal{user: user, tok: st}
	p.token = &p.tok
	return p, true
}

func (s *server) authBasic(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	name, pw, ok := r.BasicAuth()
	if !ok || name == "" {
		s.unauthorized(w, r, true, "malformed Basic credentials")
		return nil, false
	}
	if s.cfg.DisablePasswordLogin {
		s.unauthorized(w, r, false, PasswordLoginOff)
		return nil, false
	}
	// Password guesses are the one credential worth brute-forcing, so a
	// check is admitted only while the address's failures plus its checks
	// in flight stay under the limit: concurrent guesses then cannot
	// outrun it. Only a wrong password counts as a failure.
	addr := s.limitKey(r)
	wait, attempt := s.limiter.reserve(addr, s.cfg.Now())
	if wait > 0 {
		s.tooManyFailures(w, r, wait)
		return nil, false
	}
	wrong := false
	defer func() { s.limiter.settle(addr, attempt, wrong, s.cfg.Now()) }()
	select {
	case s.hashing <- struct{}{}:
		defer func() { <-s.hashing }()
	case <-r.Context().Done():
		return nil, false // the client gave up; nobody reads an answer
	}
	user, err := s.store.UserByName(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a real check so timing does not reveal
		// which usernames exist.
		password.VerifyDummy(pw)
		wrong = true
		s.unauthorized(w, r, false, "wrong username or password")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "look up user", err)
		return nil, false
	}
	if user.Kind == store.KindService || user.PasswordHash == "" {
		// A service account, or a person provisioned by an SSO provider,
		// has no password to check: answer as for a wrong one, in the
		// same time.
		password.VerifyDummy(pw)
		wrong = true
		s.authFailed(r, user, nil, reasonWrongPassword)
		s.unauthorized(w, r, false, "wrong username or password")
		return nil, false
	}
	match, err := password.Verify(pw, user.PasswordHash)
	if err != nil {
		s.internalError(w, r, "verify password of "+user.Username, err)
		return nil, false
	}
	if !match {
		wrong = true
		s.authFailed(r, user, nil, reasonWrongPassword)
		s.unauthorized(w, r, false, "wrong username or password")
		return nil, false
	}
	if user.Disabled {
		// Said only to one who knows the password.
		s.unauthorized(w, r, false, "the account "+user.Username+" is disabled; ask an admin to enable it")
		return nil, false
	}
	s.authenticated(r, user)
	return &principal{user: user}, true
}

// PasswordLoginOff is the detail of a 401 to a password when the server
// takes none; tokenctl shows it and suggests --web.
const PasswordLoginOff = "password sign-in is turned off on this server; sign in through the browser with tokenctl auth login --web"

func (s *server) authenticated(r *http.Request, u store.User) {
	if info := infoFrom(r.Context()); info != nil {
		info.user = u.Username
	}
}

// unauthorized answers 401. counted says whether to count a failed attempt
// (wrong credentials, as opposed to none at all) against the client
// address; password checks pass false because settle counts theirs.
func (s *server) unauthorized(w http.ResponseWriter, r *http.Request, counted bool, detail string) {
	if counted {
		s.limiter.fail(s.limitKey(r), s.cfg.Now())
	}
	w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	writeProblem(w, r, http.StatusUnauthorized, api.CodeUnauthorized, detail)
}

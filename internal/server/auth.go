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
	// console: the user signed in to the token console (console.go).
	console bool

	tok store.Token // what token points to for a PAT: one allocation, not two
}

// The challenges of a 401: every /v1 route but auth/check takes either
// scheme; auth/check takes tokens only, and offering Basic there would make
// a browser behind the proxy ask for a password that can never work.
const (
	wwwAuthenticate       = `Bearer realm="tokend", Basic realm="tokend", charset="UTF-8"`
	wwwAuthenticateBearer = `Bearer realm="tokend"`
)

// Details of the 429s, saying whose failures the client pays for.
const (
	tooManyBadCredentials = "too many failed credentials from this address"
	tooManyWrongPasswords = "too many wrong passwords for this account from this address"
	tooManyAddressGuesses = "too many wrong passwords from this address"
)

// authenticate resolves the Authorization header or answers 401 (counting
// the failure against the client address; see failLimiter) and reports
// false.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	if u, ok := consoleUser(r.Context()); ok {
		if u.Disabled || u.Kind == store.KindService {
			s.unauthorized(w, r, false, wwwAuthenticate, "the account "+u.Username+" is disabled; ask an admin to enable it")
			return nil, false
		}
		s.authenticated(r, u)
		return &principal{user: u, console: true}, true
	}
	if len(r.Header.Values("Authorization")) > 1 {
		// "First wins" would let a proxy and tokend disagree on who asks.
		writeProblem(w, r, http.StatusBadRequest, api.CodeBadRequest, "send one Authorization header, not several")
		return nil, false
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		s.unauthorized(w, r, false, wwwAuthenticate, "missing credentials; send Authorization: Bearer <token> or HTTP Basic username and password")
		return nil, false
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return s.authBearer(w, r, cred, wwwAuthenticate)
	case strings.EqualFold(scheme, "Basic"):
		return s.authBasic(w, r)
	default:
		s.unauthorized(w, r, true, wwwAuthenticate, "unsupported authorization scheme; use Bearer or Basic")
		return nil, false
	}
}

// authBearer checks a token; a refusal challenges with challenge.
func (s *server) authBearer(w http.ResponseWriter, r *http.Request, cred, challenge string) (*principal, bool) {
	// The checksum is checked before the store is asked, so typos and
	// random guesses cost no database work.
	tok, err := secret.Parse(cred)
	if err != nil {
		detail := "the bearer token is not a well-formed token"
		if errors.Is(err, secret.ErrChecksum) {
			detail = "the bearer token's checksum does not match; it was mistyped or truncated"
		}
		s.unauthorized(w, r, true, challenge, detail)
		return nil, false
	}
	st, user, err := s.store.TokenByDigest(r.Context(), tok.Digest())
	if errors.Is(err, store.ErrNotFound) {
		s.unauthorized(w, r, true, challenge, "the bearer token is unknown, deleted or rotated")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "authenticate token", err)
		return nil, false
	}
	if user.Disabled {
		// Offboarding: the flag comes with the token's row, so one write
		// refuses every token of the user on the next request anywhere.
		s.unauthorized(w, r, true, challenge, "the account "+user.Username+" is disabled; ask an admin to enable it")
		return nil, false
	}
	now := s.cfg.Now()
	if st.Expired(now) {
		s.authFailed(r, user, &st, reasonExpiredToken)
		s.unauthorized(w, r, true, challenge, "the bearer token expired at "+st.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")+"; create a new one")
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
		s.unauthorized(w, r, true, wwwAuthenticate, "malformed Basic credentials")
		return nil, false
	}
	if s.cfg.DisablePasswordLogin {
		s.unauthorized(w, r, false, wwwAuthenticate, PasswordLoginOff)
		return nil, false
	}
	// Password guesses are the one credential worth brute-forcing, so a
	// check is admitted only while the failures plus the checks in flight
	// of this account from this address, and of this address across
	// accounts, stay under their budgets: concurrent guesses then cannot
	// outrun them. Only a wrong password counts as a failure.
	addr := s.limitKey(r)
	wait, what, attempt := s.limits.reservePassword(addr, name, s.cfg.Now())
	if wait > 0 {
		s.tooManyFailures(w, r, wait, what)
		return nil, false
	}
	wrong := false
	defer func() { s.limits.settlePassword(attempt, wrong, s.cfg.Now()) }()
	var (
		user                 store.User
		match, noPassword    bool
		lookupErr, verifyErr error
	)
	// The lookup runs in the slot too, so a burst of sign-ins queues
	// before it costs the store anything.
	switch gerr := s.hashing.Do(r.Context(), func() {
		user, lookupErr = s.store.UserByName(r.Context(), name)
		switch {
		case errors.Is(lookupErr, store.ErrNotFound):
			// Spend the same time as a real check so timing does not
			// reveal which usernames exist.
			password.VerifyDummy(pw)
		case lookupErr != nil:
		case user.Kind == store.KindService || user.PasswordHash == "":
			// A service account, or a person provisioned by an SSO
			// provider, has no password to check: answer as for a wrong
			// one, in the same time.
			password.VerifyDummy(pw)
			noPassword = true
		default:
			match, verifyErr = password.Verify(pw, user.PasswordHash)
		}
	}); {
	case errors.Is(gerr, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusServiceUnavailable, api.CodePasswordChecksBusy,
			"too many password checks are running; retry in 1 second, or sign in with a token")
		return nil, false
	case gerr != nil:
		return nil, false // the client gave up; nobody reads an answer
	}
	switch {
	case errors.Is(lookupErr, store.ErrNotFound):
		wrong = true
		s.unauthorized(w, r, false, wwwAuthenticate, "wrong username or password")
		return nil, false
	case lookupErr != nil:
		s.internalError(w, r, "look up user", lookupErr)
		return nil, false
	case noPassword:
		wrong = true
		s.authFailed(r, user, nil, reasonWrongPassword)
		s.unauthorized(w, r, false, wwwAuthenticate, "wrong username or password")
		return nil, false
	case verifyErr != nil:
		s.internalError(w, r, "verify password of "+user.Username, verifyErr)
		return nil, false
	}
	if !match {
		wrong = true
		s.authFailed(r, user, nil, reasonWrongPassword)
		s.unauthorized(w, r, false, wwwAuthenticate, "wrong username or password")
		return nil, false
	}
	if user.Disabled {
		// Said only to one who knows the password.
		s.unauthorized(w, r, false, wwwAuthenticate, "the account "+user.Username+" is disabled; ask an admin to enable it")
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

// unauthorized answers 401 with challenge. counted says whether to count
// a failed credential (wrong credentials, as opposed to none at all)
// against the client address; password checks pass false because
// settlePassword counts theirs. An address past its budget gets 429
// instead: only a failing request is ever refused for failures.
func (s *server) unauthorized(w http.ResponseWriter, r *http.Request, counted bool, challenge, detail string) {
	if counted {
		if wait := s.limits.failedCredential(s.limitKey(r), s.cfg.Now()); wait > 0 {
			s.tooManyFailures(w, r, wait, tooManyBadCredentials)
			return
		}
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeProblem(w, r, http.StatusUnauthorized, api.CodeUnauthorized, detail)
}

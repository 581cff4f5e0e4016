package server

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/usercode"
)

// The device grant's timings: long enough to find the laptop's browser
// and sign in at the provider, short enough that a code shown on a screen
// someone photographed is soon worthless.
const (
	DeviceCodeLifetime = 10 * time.Minute
	DevicePollInterval = 5 * time.Second // Config.DevicePollInterval's default
	// The bounds of Config.DevicePollInterval. A code lives ten minutes,
	// and tokenctl waits at most a minute between polls however much
	// slow_down asks (cli/auth's maxPollInterval): from 30 s, slow_down's
	// 5 s steps stay under that for the first six.
	MinDevicePollInterval = time.Second
	MaxDevicePollInterval = 30 * time.Second
	maxClientHostLen      = 255
)

// DevicePath is where a person approves a device code: the browser pages'
// package (loginweb) serves it.
const DevicePath = "/login/device"

// handleDeviceStart begins a device authorization (RFC 8628 §3.1–3.2).
func (s *server) handleDeviceStart(w http.ResponseWriter, r *http.Request, _ *principal) {
	req, prob := decode[api.DeviceStartRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	host := strings.TrimSpace(req.ClientHost)
	if host == "" || len(host) > maxClientHostLen || strings.ContainsFunc(host, isControl) {
		s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation,
			"client_host must be the asking machine's host name: 1 to 255 characters, no control characters"))
		return
	}
	provs, err := s.store.ListSSOProviders(r.Context())
	if err != nil {
		s.internalError(w, r, "list sso providers", err)
		return
	}
	if len(provs) == 0 {
		s.fail(w, r, newProblem(http.StatusForbidden, api.CodeSSONotConfigured,
			"this server has no sign-in provider; log in with a password, or ask its operator to add one with tokend sso add"))
		return
	}
	now := s.cfg.Now().UTC()
	if wait := s.limits.startedDevice(s.limitKey(r), now); wait > 0 {
		s.tooManyFailures(w, r, wait, "too many sign-ins started from this address")
		return
	}
	addr, _ := s.client(r)
	deviceCode := rand.Text()
	d := store.DeviceCode{Digest: sha256.Sum256([]byte(deviceCode)), ClientHost: host, ClientAddr: addr,
		CreatedAt: now, ExpiresAt: now.Add(DeviceCodeLifetime), Interval: s.cfg.DevicePollInterval, State: store.DevicePending,
		MaxPending: s.cfg.MaxPendingDeviceCodes}
	// 20^8 codes: a clash is rare, three in a row means something else.
	for try := 0; ; try++ {
		if d.UserCode, err = usercode.New(); err != nil {
			s.internalError(w, r, "draw a user code", err)
			return
		}
		err = s.store.CreateDeviceCode(r.Context(), d)
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrLimit) {
			w.Header().Set("Retry-After", "60")
			writeProblem(w, r, http.StatusServiceUnavailable, api.CodeUnavailable,
				"too many sign-ins are waiting for approval on this server; retry in 60 seconds")
			return
		}
		if !errors.Is(err, store.ErrConflict) || try == 2 {
			s.internalError(w, r, "create device code", err)
			return
		}
	}
	verify := s.publicURL(r) + DevicePath
	encode(w, http.StatusOK, api.DeviceAuthorization{
		DeviceCode:              deviceCode,
		UserCode:                usercode.Format(d.UserCode),
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(usercode.Format(d.UserCode)),
		ExpiresIn:               seconds(DeviceCodeLifetime),
		Interval:                seconds(s.cfg.DevicePollInterval),
	})
}

// handleDeviceToken answers the CLI's poll (RFC 8628 §3.4–3.5): the login
// token once, after a person approved; until then what to do next.
func (s *server) handleDeviceToken(w http.ResponseWriter, r *http.Request, _ *principal) {
	req, prob := decode[api.DeviceTokenRequest](r)
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	invalid := func(detail string) { s.fail(w, r, newProblem(http.StatusBadRequest, api.CodeValidation, detail)) }
	switch {
	case req.GrantType != "" && req.GrantType != api.GrantTypeDeviceCode:
		invalid("grant_type must be " + api.GrantTypeDeviceCode + " (or left out)")
		return
	case req.DeviceCode == "" || len(req.DeviceCode) > 256:
		invalid("device_code is required: the one POST /v1/auth/device returned")
		return
	case req.ExpiresInSeconds != nil && *req.ExpiresInSeconds < seconds(api.MinLifetime):
		invalid("expires_in_seconds must be at least 60 (1 minute)")
		return
	case req.ExpiresInSeconds != nil && *req.ExpiresInSeconds > seconds(s.cfg.MaxLifetime):
		invalid("expires_in_seconds is longer than this server's maximum token lifetime")
		return
	}
	exact := s.cfg.Now().UTC()
	now := exact.Truncate(time.Second)
	d, slow, err := s.store.PollDeviceCode(r.Context(), sha256.Sum256([]byte(req.DeviceCode)), exact)
	grantError := func(code, detail string) {
		writeProblemBody(w, r, http.StatusBadRequest, api.Problem{Code: code, Detail: detail})
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		grantError(api.CodeExpiredToken, "unknown or expired device code; start again with tokenctl auth login --web")
		return
	case err != nil:
		s.internalError(w, r, "poll device code", err)
		return
	case !exact.Before(d.ExpiresAt):
		grantError(api.CodeExpiredToken, "the device code expired before it was approved; start again with tokenctl auth login --web")
		return
	case slow:
		writeProblemBody(w, r, http.StatusBadRequest, api.Problem{Code: api.CodeSlowDown, Interval: seconds(d.Interval + store.SlowDownStep),
			Detail: "polled too soon; wait the interval between polls"})
		return
	}
	switch d.State {
	case store.DevicePending:
		grantError(api.CodeAuthorizationPending, "not approved yet; poll again after the interval")
		return
	case store.DeviceDenied:
		grantError(api.CodeAccessDenied, "the sign-in was refused in the browser or by the server's policy")
		return
	case store.DeviceConsumed:
		grantError(api.CodeExpiredToken, "this device code was already used; start again with tokenctl auth login --web")
		return
	}
	// Approved, and this poll consumed it: mint the login token.
	life := s.cfg.DefaultLoginLifetime // a login token, as a password login asks for
	if req.ExpiresInSeconds != nil {
		life = time.Duration(*req.ExpiresInSeconds) * time.Second
	}
	p := &principal{user: store.User{ID: d.UserID, Username: d.Username}}
	scopes, expires, prob, err := s.createScopes(r.Context(), p, nil, now.Add(life), req.ExpiresInSeconds != nil)
	if err != nil {
		s.internalError(w, r, "device token scopes", err)
		return
	}
	if prob != nil {
		s.fail(w, r, prob)
		return
	}
	sec, err := secret.Generate(s.cfg.TokenPrefix)
	if err != nil {
		s.internalError(w, r, "generate token", err)
		return
	}
	nt := store.NewToken{
		ID: store.NewID(exact), UserID: d.UserID,
		Name:        text.Truncate("tokenctl@"+d.ClientHost, api.MaxNameLen),
		Description: "signed in through the browser (tokenctl auth login --web)",
		KeyHint:     sec.Hint(), Digest: sec.Digest(),
		CreatedAt: now, ExpiresAt: expires, Scopes: scopes, MaxLive: s.cfg.MaxTokensPerUser,
	}
	a := store.Audit{At: s.eventTime(), ActorKind: store.ActorSSO}
	a.ClientAddress, a.UserAgent = s.client(r)
	tok, _, err := s.store.CreateToken(store.WithAudit(r.Context(), a), nt)
	if err != nil {
		s.storeError(w, r, "device token", "", err)
		return
	}
	s.log.InfoContext(r.Context(), "device sign-in completed", "request_id", requestID(r), "user", d.Username, "token_id", tok.ID)
	encode(w, http.StatusOK, api.DeviceToken{
		CreatedToken: api.CreatedToken{Token: s.wireToken(tok), Secret: sec.String()},
		User:         api.UserRef{ID: d.UserID, Username: d.Username},
		AccessToken:  sec.String(),
		TokenType:    "Bearer",
		ExpiresIn:    seconds(tok.ExpiresAt.Sub(now)),
	})
}

// publicURL is where clients reach this server: Config.PublicURL, or else
// what the request says (behind a trusted proxy, its X-Forwarded-Proto).
func (s *server) publicURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	return RequestBaseURL(r, s.cfg.TrustProxy)
}

// RequestBaseURL is scheme://host of the request as the client sent it.
func RequestBaseURL(r *http.Request, trustProxy bool) string {
	scheme := "http"
	if r.TLS != nil || (trustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

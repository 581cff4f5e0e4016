// Package loginweb is the browser side of tokenctl auth login --web: the
// page where a person confirms a device code (/login/device), the round
// trip to the organisation's OpenID provider (authorization code + PKCE,
// state and nonce) and its callback (/login/callback), which verifies the
// ID token, applies the provider's policy and approves the device code.
// The API side of the device grant (the CLI's polls, the token minted) is
// package server's; the two meet in the store.
package loginweb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/usercode"
	"github.com/tokenctl/tokenctl/internal/websession"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var page = template.Must(template.ParseFS(templateFS, "templates/page.html"))

// Paths this package serves.
const (
	DevicePath   = "/login/device"
	CallbackPath = "/login/callback"
	// ConsolePath starts a sign-in to the token console: the same round
	// trip as a device approval, ending in ConsoleSignIn.
	ConsolePath  = "/login/console"
	staticPrefix = "/login/static/"
)

// DefaultProviderTimeout bounds each wait on a provider (discovery, the
// code exchange, its keys): a provider that is down or slow gets a clear
// page, not a hung browser tab.
const DefaultProviderTimeout = 10 * time.Second

// loginLifetime bounds a round trip to the provider.
const loginLifetime = 10 * time.Minute

// Limiter is a per-address budget of failures (server.AddressLimiter):
// wrong user codes spend it, so codes cannot be guessed.
type Limiter interface {
	Blocked(r *http.Request) time.Duration
	Fail(r *http.Request)
	ClientAddress(r *http.Request) string
}

// Config is what the pages need.
type Config struct {
	Store   store.Store
	Limiter Limiter
	// PublicURL is where browsers reach tokend (the redirect URI is
	// PublicURL + /login/callback); empty takes it from each request.
	PublicURL  string
	TrustProxy bool
	// Secure marks the session cookie Secure (tokend serves TLS, or sits
	// behind a TLS proxy).
	Secure          bool
	Now             func() time.Time
	HTTPClient      *http.Client // for the provider; nil: a client bounded by ProviderTimeout
	ProviderTimeout time.Duration
	Logger          *slog.Logger
	// ConsoleSignIn ends a sign-in that started on the token console's
	// sign-in page (POST /login/console) with a console session for u, in
	// place of a device approval; nil refuses such sign-ins.
	ConsoleSignIn func(w http.ResponseWriter, r *http.Request, u store.User)
}

type handler struct {
	cfg      Config
	sessions *websession.Manager
	// baseLog is read only by logFor, so no line goes out without its
	// request's id.
	baseLog *slog.Logger

	mu        sync.Mutex
	providers map[string]cachedProvider // by issuer
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// discoveryTTL is how long a provider's discovery document is reused;
// its keys are go-oidc's to cache (refetched on an unknown key id).
const discoveryTTL = time.Hour

// New returns the pages' handler; mount it at /login/.
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProviderTimeout <= 0 {
		cfg.ProviderTimeout = DefaultProviderTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.ProviderTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{cfg: cfg, sessions: &websession.Manager{Secure: cfg.Secure}, baseLog: cfg.Logger, providers: map[string]cachedProvider{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DevicePath, h.showDevice)
	mux.HandleFunc("POST "+DevicePath, h.decideDevice)
	mux.HandleFunc("GET "+CallbackPath, h.callback)
	mux.HandleFunc("POST "+ConsolePath, h.startConsole)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET "+staticPrefix, http.StripPrefix(staticPrefix, http.FileServerFS(static)))
	mux.HandleFunc("/login/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, view{Title: "Not found", Error: "There is no such page. Open the link your terminal shows."})
	})
	return websession.Headers(mux)
}

// view is what page.html shows.
type view struct {
	Title, Message, Error string
	CSRF                  string
	Entry                 bool
	Confirm               *confirm
}

type confirm struct {
	Host, Addr, Asked, Code string
	Providers               []string
}

// logFor is the logger for every line about r: it carries the request id
// that server.Pages gave r and echoed in X-Request-Id, so an operator can
// tie a warning to the request's access log line.
func (h *handler) logFor(r *http.Request) *slog.Logger {
	return server.PageLogger(h.baseLog, r)
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		h.logFor(r).Warn("render login page", "error", err.Error())
	}
}

// tooMany answers a blocked address.
func (h *handler) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	h.render(w, r, http.StatusTooManyRequests, view{Title: "Too many attempts",
		Error: fmt.Sprintf("Too many wrong codes or failed sign-ins from your address. Try again in %d seconds.", secs)})
}

// lookup finds the pending device code typed or linked, rendering the
// refusal itself when there is none. Every miss spends the address's
// budget: that is what makes guessing codes useless.
func (h *handler) lookup(w http.ResponseWriter, r *http.Request, raw string, csrf string) (store.DeviceCode, bool) {
	entry := func(status int, msg string) {
		h.render(w, r, status, view{Title: "Sign in to tokend", Entry: true, CSRF: csrf, Error: msg})
	}
	code, ok := usercode.Normalize(raw)
	if !ok {
		h.cfg.Limiter.Fail(r)
		entry(http.StatusBadRequest, "That is not a code tokenctl shows: 8 letters like BCDF-GHJK.")
		return store.DeviceCode{}, false
	}
	d, err := h.cfg.Store.DeviceCodeByUserCode(r.Context(), code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.cfg.Limiter.Fail(r)
		entry(http.StatusNotFound, "No such code. Check it against your terminal, or run tokenctl auth login --web again.")
		return d, false
	case err != nil:
		h.internal(w, r, "look up device code", err)
		return d, false
	case !h.cfg.Now().Before(d.ExpiresAt):
		entry(http.StatusGone, "This code has expired. Run tokenctl auth login --web again for a new one.")
		return d, false
	case d.State != store.DevicePending:
		entry(http.StatusConflict, "This code was already used. Run tokenctl auth login --web again for a new one.")
		return d, false
	}
	return d, true
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.logFor(r).Error("login page: "+what, "error", err.Error())
	h.render(w, r, http.StatusInternalServerError, view{Title: "Something went wrong", Error: "tokend could not do that just now. Try again in a moment."})
}

// showDevice asks for the code, or shows what is being authorised and
// waits for a click (RFC 8628 §5.4: never approve on a link alone).
func (h *handler) showDevice(w http.ResponseWriter, r *http.Request) {
	sess := h.sessions.Get(w, r)
	if wait := h.cfg.Limiter.Blocked(r); wait > 0 {
		h.tooMany(w, r, wait)
		return
	}
	raw := r.URL.Query().Get("user_code")
	if raw == "" {
		h.render(w, r, http.StatusOK, view{Title: "Sign in to tokend", Entry: true, CSRF: sess.CSRF(),
			Message: "Enter the code that tokenctl auth login --web shows in your terminal."})
		return
	}
	d, ok := h.lookup(w, r, raw, sess.CSRF())
	if !ok {
		return
	}
	provs, err := h.cfg.Store.ListSSOProviders(r.Context())
	if err != nil {
		h.internal(w, r, "list providers", err)
		return
	}
	if len(provs) == 0 {
		h.render(w, r, http.StatusServiceUnavailable, view{Title: "No sign-in provider", Error: "This server has no sign-in provider any more; log in with a password."})
		return
	}
	names := make([]string, len(provs))
	for i, p := range provs {
		names[i] = p.Name
	}
	h.render(w, r, http.StatusOK, view{Title: "Confirm sign-in", CSRF: sess.CSRF(), Confirm: &confirm{
		Host: d.ClientHost, Addr: d.ClientAddr, Asked: d.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		Code: usercode.Format(d.UserCode), Providers: names}})
}

// decideDevice is the click: deny, or go to the chosen provider.
func (h *handler) decideDevice(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.sessions.Existing(r)
	if !ok || !sess.CheckCSRF(r) {
		h.render(w, r, http.StatusForbidden, view{Title: "Start again",
			Error: "This form expired or did not come from this site. Open the link your terminal shows again."})
		return
	}
	if wait := h.cfg.Limiter.Blocked(r); wait > 0 {
		h.tooMany(w, r, wait)
		return
	}
	d, ok := h.lookup(w, r, r.PostFormValue("user_code"), sess.CSRF())
	if !ok {
		return
	}
	if r.PostFormValue("action") == "deny" {
		if err := h.cfg.Store.DecideDeviceCode(r.Context(), d.UserCode, false, "", h.cfg.Now()); err != nil && !errors.Is(err, store.ErrConflict) {
			h.internal(w, r, "deny device code", err)
			return
		}
		h.render(w, r, http.StatusOK, view{Title: "Denied", Message: "Nothing was signed in. tokenctl stops waiting; you can close this tab."})
		return
	}
	p, err := h.cfg.Store.SSOProviderByName(r.Context(), r.PostFormValue("provider"))
	if errors.Is(err, store.ErrNotFound) {
		h.render(w, r, http.StatusBadRequest, view{Title: "Unknown provider", Error: "That sign-in provider does not exist here. Go back and choose one of those shown."})
		return
	} else if err != nil {
		h.internal(w, r, "read provider", err)
		return
	}
	expires := h.cfg.Now().Add(loginLifetime)
	if d.ExpiresAt.Before(expires) {
		expires = d.ExpiresAt
	}
	h.startLogin(w, r, sess, p, d.UserCode, expires)
}

// startConsole is the console sign-in page's provider button: the same
// round trip as a device approval, with no device code.
func (h *handler) startConsole(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.sessions.Existing(r)
	if !ok || !sess.CheckCSRF(r) {
		h.render(w, r, http.StatusForbidden, view{Title: "Start again",
			Error: "This form expired or did not come from this site. Go back to the sign-in page, reload it and try again."})
		return
	}
	if h.cfg.ConsoleSignIn == nil {
		h.render(w, r, http.StatusNotFound, view{Title: "Not found", Error: "This server has no token console."})
		return
	}
	// Each start stores a pending sign-in and may end in an audit event:
	// an address whose sign-ins keep failing starts no more for a while.
	if wait := h.cfg.Limiter.Blocked(r); wait > 0 {
		h.tooMany(w, r, wait)
		return
	}
	p, err := h.cfg.Store.SSOProviderByName(r.Context(), r.PostFormValue("provider"))
	if errors.Is(err, store.ErrNotFound) {
		h.render(w, r, http.StatusBadRequest, view{Title: "Unknown provider", Error: "That sign-in provider does not exist here. Go back and choose one of those shown."})
		return
	} else if err != nil {
		h.internal(w, r, "read provider", err)
		return
	}
	h.startLogin(w, r, sess, p, "", h.cfg.Now().Add(loginLifetime))
}

// startLogin stores the round trip (state, nonce, PKCE verifier, the
// browser session, and the device code it approves: "" for a console
// sign-in) and sends the browser to the provider.
func (h *handler) startLogin(w http.ResponseWriter, r *http.Request, sess websession.Session, p store.SSOProvider, userCode string, expires time.Time) {
	op, ok := h.discover(w, r, p)
	if !ok {
		return
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	if err := h.cfg.Store.CreateSSOLogin(r.Context(), store.SSOLogin{StateDigest: sha256.Sum256([]byte(state)),
		SessionDigest: sess.Digest(), Provider: p.Name, UserCode: userCode, Nonce: nonce, Verifier: verifier, ExpiresAt: expires}); err != nil {
		h.internal(w, r, "store login", err)
		return
	}
	to := h.oauth(r, p, op).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *handler) baseURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimSuffix(h.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || (h.cfg.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *handler) oauth(r *http.Request, p store.SSOProvider, op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: h.baseURL(r) + CallbackPath, Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, p.Scopes...)}
}

// providerCtx bounds one wait on a provider and makes go-oidc and oauth2
// use the bounded client.
func (h *handler) providerCtx(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ProviderTimeout)
	return oidc.ClientContext(ctx, h.cfg.HTTPClient), cancel
}

// discover returns p's provider metadata, fetched at most once per
// discoveryTTL; a provider that is down or slow gets its page.
func (h *handler) discover(w http.ResponseWriter, r *http.Request, p store.SSOProvider) (*oidc.Provider, bool) {
	h.mu.Lock()
	c, ok := h.providers[p.Issuer]
	h.mu.Unlock()
	if ok && h.cfg.Now().Sub(c.fetched) < discoveryTTL {
		return c.p, true
	}
	ctx, cancel := h.providerCtx(r)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		h.providerError(w, r, p, "discovery", err)
		return nil, false
	}
	h.mu.Lock()
	h.providers[p.Issuer] = cachedProvider{p: op, fetched: h.cfg.Now()}
	h.mu.Unlock()
	return op, true
}

// providerError answers a provider that failed, timed out or answered
// nonsense: 504 when it was too slow, 502 otherwise.
func (h *handler) providerError(w http.ResponseWriter, r *http.Request, p store.SSOProvider, step string, err error) {
	h.logFor(r).Warn("sso provider error", "provider", p.Name, "step", step, "error", err.Error(), "client", h.cfg.Limiter.ClientAddress(r))
	h.failed(r, p, "", nil, reasonProviderError, step)
	status, msg := http.StatusBadGateway, "The sign-in provider "+p.Name+" could not be reached or gave an answer tokend cannot use. Try again later; if it persists, tell the server's operator."
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		status, msg = http.StatusGatewayTimeout, "The sign-in provider "+p.Name+" did not answer in time. Try again in a moment."
	}
	h.render(w, r, status, view{Title: "Sign-in provider error", Error: msg})
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

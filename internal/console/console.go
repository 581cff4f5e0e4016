// Package console is tokend's token console: the web pages where people
// sign in (SSO through package loginweb, or a password), add a token and
// copy its secret once, list, filter, rotate and delete their tokens, read
// their activity, and where admins see every user's tokens.
//
// The pages are rendered on the server (html/template, every form works
// without JavaScript); the stylesheet and the little script (copy, select
// all) are embedded files, so there is no CDN and no build step. Every
// token operation is a call to the API's own handlers (apicall.go), so
// the console obeys exactly the API's rules.
package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/timespec"
	"github.com/tokenctl/tokenctl/internal/websession"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults of the session timeouts (tokend serve --console-idle-timeout,
// --console-session-lifetime).
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
)

// CSP is the pages' content security policy: the embedded stylesheet and
// script only (no inline script or style), forms only to this origin, no
// framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// signInCSP is the sign-in page's: its SSO form goes through /login/ to
// the provider, and form-action would also govern that redirect.
const signInCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'"

// maxFormBytes bounds a form post: a thousand ticked token ids and their
// field names fit many times over.
const maxFormBytes = 256 << 10

// Config is what the console needs.
type Config struct {
	Store store.Store
	// API is the API v1 handler (server.New); every token operation goes
	// through it.
	API http.Handler
	// PasswordLogin shows the password form (tokend serve --password-login).
	PasswordLogin bool
	// Secure marks cookies Secure (TLS, or a TLS proxy in front).
	Secure bool
	// PublicURL, when set, is an origin whose form posts are accepted even
	// where a proxy in front rewrites the Host header (tokend serve
	// --public-url).
	PublicURL string
	// IdleTimeout ends a session unused this long; SessionLifetime ends
	// any session this long after sign-in.
	IdleTimeout, SessionLifetime time.Duration
	Now                          func() time.Time
	Logger                       *slog.Logger
}

type handler struct {
	cfg      Config
	log      *slog.Logger
	sessions *websession.Manager // the signed-in session: SameSite=Strict
	pre      *websession.Manager // before sign-in (loginweb's): CSRF of the sign-in forms
	pages    map[string]*template.Template
	origin   *http.CrossOriginProtection
}

// Paths the console serves; tokend sends these to it and everything else
// to the API (Owns).
const (
	homePath    = "/"
	signInPath  = "/signin"
	signOutPath = "/signout"
	staticPath  = "/static/"
)

var ownedPrefixes = []string{"/tokens", "/activity", "/admin", staticPath}

// Owns reports whether path is one of the console's pages, which tokend
// routes here; everything else, /v1/ and the health checks included, stays
// the API's (so unknown paths keep their problem+json 404).
func Owns(path string) bool {
	if path == homePath || path == signInPath || path == signOutPath {
		return true
	}
	for _, p := range ownedPrefixes {
		if path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// Console is the handler with the hook loginweb calls at the end of an
// SSO sign-in that started on the console's sign-in page.
type Console struct {
	http.Handler
	h *handler
}

// New returns the console.
func New(cfg Config) *Console {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	h := &handler{
		cfg: cfg, log: cfg.Logger,
		sessions: &websession.Manager{Secure: cfg.Secure, Name: "tokend_console", Strict: true, MaxAge: cfg.SessionLifetime},
		pre:      &websession.Manager{Secure: cfg.Secure},
		pages:    parsePages(),
		origin:   http.NewCrossOriginProtection(),
	}
	if cfg.PublicURL != "" {
		if err := h.origin.AddTrustedOrigin(strings.TrimSuffix(cfg.PublicURL, "/")); err != nil {
			h.log.Warn("console: the public URL is not an origin", "error", err.Error())
		}
	}
	h.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusForbidden, "message", view{Title: "Refused", Error: "This form was sent from another site. Nothing was changed."})
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("POST "+signInPath, h.signInPassword)
	mux.HandleFunc("POST "+signOutPath, h.signed(h.signOut))
	h.tokenRoutes(mux)
	h.activityRoutes(mux)
	h.adminRoutes(mux)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET "+staticPath, http.StripPrefix(staticPath, http.FileServerFS(static)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "message", view{Title: "Not found", Error: "There is no such page."})
	})
	// Cross-origin state changes are refused before any handler runs:
	// Sec-Fetch-Site, else Origin against Host (net/http's own check).
	// Forms are small: a body past maxFormBytes is cut off, as the API's
	// own limit cuts a JSON body.
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		mux.ServeHTTP(w, r)
	})
	return &Console{Handler: h.origin.Handler(limited), h: h}
}

// view is what every page template sees.
type view struct {
	Title   string
	Nav     string // the current section, for aria-current
	User    *store.User
	CSRF    string
	Message string
	Error   string
	Now     time.Time
	Data    any
}

var funcs = template.FuncMap{
	"rel": func(t, now time.Time) string { return timespec.Relative(t, now, false) },
	"expiry": func(t, now time.Time) string {
		return timespec.Relative(t, now, true)
	},
	"date": timespec.Date,
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
}

// parsePages builds one template per page: the layout plus the page's
// "content".
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, _ := fs.Glob(templateFS, "templates/*.html")
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// render writes page with v, and the security headers: no-store on every
// page (the secret pages above all), the CSP, no framing.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	csp := CSP
	if page == "signin" {
		csp = signInCSP
	}
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if v.Now.IsZero() {
		v.Now = h.cfg.Now()
	}
	w.WriteHeader(status)
	if err := h.pages[page].ExecuteTemplate(w, "layout.html", v); err != nil {
		h.logFor(r).Warn("render console page", "page", page, "error", err.Error())
	}
}

// internal answers a failure that is not the person's doing.
func (h *handler) internal(w http.ResponseWriter, r *http.Request, s *session, what string, err error) {
	h.logFor(r).Error("console: "+what, "error", err.Error())
	h.render(w, r, http.StatusInternalServerError, "message", s.view("Something went wrong", "", view{
		Error: "tokend could not do that just now. Try again in a moment."}))
}

// apiFailed shows an API refusal on a page of its own, with its status.
func (h *handler) apiFailed(w http.ResponseWriter, r *http.Request, s *session, what string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status >= 500 {
		h.internal(w, r, s, what, err)
		return
	}
	if ae.RetryAfter != "" {
		w.Header().Set("Retry-After", ae.RetryAfter)
	}
	h.render(w, r, ae.Status, "message", s.view("Not done", "", view{Error: ae.Error()}))
}

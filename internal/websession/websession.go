// Package websession holds what every page tokend serves to a browser
// needs: a short-lived session cookie, a CSRF token bound to it, and the
// security headers (no caching, a content security policy with no inline
// script, no framing). The sign-in pages (package loginweb) and the token
// console (package console) use it.
package websession

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// Manager issues and reads sessions.
type Manager struct {
	// Secure marks cookies Secure and gives them the __Host- prefix; set
	// it whenever the pages are served over TLS (or behind a TLS proxy).
	Secure bool
	// MaxAge is how long a session lives; default 15 minutes.
	MaxAge time.Duration
	// Name names the cookie (with the __Host- prefix when Secure);
	// default "tokend_session".
	Name string
	// Strict sends the cookie only on same-site requests (SameSite=Strict):
	// the console's signed-in session. The default, Lax, survives the
	// top-level navigation back from an SSO provider, as a sign-in needs.
	Strict bool
}

// Session is one browser's session: an unguessable id only the cookie
// holds. The server keeps at most its digest.
type Session struct {
	id string
}

func (m *Manager) cookieName() string {
	name := m.Name
	if name == "" {
		name = "tokend_session"
	}
	if m.Secure {
		return "__Host-" + name // Secure, Path=/, no Domain: set by this origin only
	}
	return name
}

func (m *Manager) sameSite() http.SameSite {
	if m.Strict {
		return http.SameSiteStrictMode
	}
	return http.SameSiteLaxMode
}

func (m *Manager) maxAge() time.Duration {
	if m.MaxAge <= 0 {
		return 15 * time.Minute
	}
	return m.MaxAge
}

// Get returns r's session, starting one (and setting its cookie on w) when
// r has none or a malformed one.
func (m *Manager) Get(w http.ResponseWriter, r *http.Request) Session {
	if s, ok := m.Existing(r); ok {
		return s
	}
	return m.Start(w)
}

// Start begins a new session, setting its cookie on w, whatever r held:
// a sign-in must never keep a session id the browser had before it
// (session fixation).
func (m *Manager) Start(w http.ResponseWriter) Session {
	s := Session{id: rand.Text()}
	http.SetCookie(w, &http.Cookie{
		Name: m.cookieName(), Value: s.id, Path: "/", MaxAge: int(m.maxAge() / time.Second),
		HttpOnly: true, Secure: m.Secure, SameSite: m.sameSite(),
	})
	return s
}

// Clear tells the browser to forget its session cookie (sign-out).
func (m *Manager) Clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: m.Secure, SameSite: m.sameSite()})
}

// Existing returns r's session if its cookie holds a well-formed one.
func (m *Manager) Existing(r *http.Request) (Session, bool) {
	c, err := r.Cookie(m.cookieName())
	if err != nil || len(c.Value) != 26 {
		return Session{}, false
	}
	return Session{id: c.Value}, true
}

// Digest is what a server may store to recognise the session later.
func (s Session) Digest() [32]byte { return sha256.Sum256([]byte("session:" + s.id)) }

// CSRF is the token every form of this session carries: derived from the
// session id, so a page of another site (which cannot read the cookie)
// cannot forge it.
func (s Session) CSRF() string {
	mac := hmac.New(sha256.New, []byte(s.id))
	mac.Write([]byte("csrf"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports whether r is a form post of this session: the right
// token in the form field "csrf".
func (s Session) CheckCSRF(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return s.id != "" && hmac.Equal([]byte(got), []byte(s.CSRF()))
}

// CSP is the content security policy of every page: own styles and
// images, no script at all, no framing, forms and links only to here.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// Headers wraps pages with the security headers.
func Headers(next http.Handler) http.Handler { return HeadersCSP(CSP, next) }

// HeadersCSP wraps pages with the security headers and csp, which must
// keep frame-ancestors 'none'.
func HeadersCSP(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

package websession

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestSessionCookieAndCSRF(t *testing.T) {
	for _, secure := range []bool{false, true} {
		m := &Manager{Secure: secure}
		rec := httptest.NewRecorder()
		s := m.Get(rec, httptest.NewRequest("GET", "/login/device", nil))
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("secure=%v: %d cookies", secure, len(cookies))
		}
		c := cookies[0]
		wantName := map[bool]string{false: "tokend_session", true: "__Host-tokend_session"}[secure]
		if c.Name != wantName || !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 900 {
			t.Fatalf("secure=%v: cookie %+v", secure, c)
		}
		// The same cookie is the same session; no new cookie is set.
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		rec2 := httptest.NewRecorder()
		if again := m.Get(rec2, r); again != s || len(rec2.Result().Cookies()) != 0 {
			t.Fatalf("secure=%v: the cookie did not find its session", secure)
		}
		post := func(csrf string) *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
		if !s.CheckCSRF(post(s.CSRF())) {
			t.Fatal("the session's own CSRF token is refused")
		}
		other := m.Get(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		for _, bad := range []string{"", "x", other.CSRF()} {
			if s.CheckCSRF(post(bad)) {
				t.Fatalf("CSRF token %q accepted", bad)
			}
		}
		if (Session{}).CheckCSRF(post((Session{}).CSRF())) {
			t.Fatal("an empty session accepted a form")
		}
	}
}

func TestHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	Headers(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	h := rec.Header()
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
		strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") || strings.Contains(h.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("headers = %v", h)
	}
}

func TestStrictNamedSessionStartsFreshAndClears(t *testing.T) {
	m := &Manager{Secure: true, Name: "tokend_console", Strict: true}
	old := httptest.NewRequest("GET", "/", nil)
	old.AddCookie(&http.Cookie{Name: "__Host-tokend_console", Value: strings.Repeat("A", 26)})
	rec := httptest.NewRecorder()
	s := m.Start(rec)
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "__Host-tokend_console" || c[0].SameSite != http.SameSiteStrictMode || !c[0].HttpOnly || !c[0].Secure {
		t.Fatalf("Start set %+v, want one Strict, HttpOnly, Secure __Host-tokend_console cookie", c)
	}
	if c[0].Value == strings.Repeat("A", 26) {
		t.Fatal("Start kept the id the browser had (session fixation)")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c[0])
	if got, ok := m.Existing(r); !ok || got != s {
		t.Fatal("the new cookie does not find its session")
	}
	rec = httptest.NewRecorder()
	m.Clear(rec)
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 || c[0].Value != "" {
		t.Fatalf("Clear set %+v, want an expired, empty cookie", c)
	}
}

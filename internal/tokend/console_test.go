package tokend

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/pgtest"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// TestConsoleBesideTheAPI: the console owns / and its own paths; the API
// keeps /v1/, the health checks and every unknown path, which still gets
// the API's problem+json 404.
func TestConsoleBesideTheAPI(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(handler(server.Config{}, st, nil, false, consoleTimeouts{}))
	defer srv.Close()
	for _, c := range []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/", 200, "text/html; charset=utf-8", "<h1 id=\"title\">Sign in</h1>"},
		{"/static/console.css", 200, "text/css; charset=utf-8", "prefers-color-scheme"},
		{"/static/console.js", 200, "text/javascript; charset=utf-8", "select-all"},
		{"/activity", 303, "", ""}, // signed out: to the sign-in page
		{"/tokens/nope/more", 404, "text/html; charset=utf-8", "There is no such page."}, // the console's own 404
		{"/healthz", 200, "application/json", ""},
		{"/v1/user", 401, "application/problem+json", "unauthorized"},
		{"/v1/nope", 404, "application/problem+json", "no such endpoint"},
		{"/nope", 404, "application/problem+json", "no such endpoint"},
		{"/tokensx", 404, "application/problem+json", "no such endpoint"},
		{"/login/nope", 404, "text/html; charset=utf-8", "There is no such page."},
	} {
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id (the console's pages are behind server.Pages too)", c.path)
		}
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.body) {
			t.Errorf("GET %s: %d %s, want %d %s with %q\n%s", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.status, c.ctype, c.body, b)
		}
	}
}

// TestConsolePageAndItsAPICallsShareARequestID: a console page is logged
// like an API request, and the API calls it makes carry its request id,
// so one id follows a sign-in from the form to the password check.
func TestConsolePageAndItsAPICallsShareARequestID(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := password.Hash("ada-pw-4711")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), store.User{ID: store.NewID(time.Now()), Username: "ada", PasswordHash: hash, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	srv := httptest.NewServer(handler(server.Config{}, st, slog.New(slog.NewJSONHandler(&logs, nil)), false, consoleTimeouts{}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	if csrf == nil {
		t.Fatalf("no CSRF field:\n%s", page)
	}
	res, err = c.PostForm(srv.URL+"/signin", url.Values{"csrf": {csrf[1]}, "username": {"ada"}, "password": {"ada-pw-4711"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := res.Header.Get("X-Request-Id")
	if res.StatusCode != http.StatusSeeOther || id == "" {
		t.Fatalf("sign-in: %d, request id %q", res.StatusCode, id)
	}
	routes := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l struct{ Msg, Request_ID, Route, User string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" && l.Request_ID == id {
			routes[l.Route] = true
		}
	}
	if !routes["POST /signin"] || !routes["GET /v1/user"] {
		t.Errorf("lines with request id %s: %v; want the page's and its API call's\n%s", id, routes, logs.String())
	}
	// A signed-in page's line names its user, as an API request's does.
	res, err = c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	pageID, named := res.Header.Get("X-Request-Id"), false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l struct{ Msg, Request_ID, Route, User string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Request_ID == pageID && l.Route == "GET /{$}" {
			named = l.User == "ada"
		}
	}
	if !named {
		t.Errorf("the tokens page's log line (request %s) does not name ada:\n%s", pageID, logs.String())
	}
	if strings.Contains(logs.String(), "ada-pw-4711") {
		t.Error("the password is in the log")
	}
}

// TestDevModeNamesTheConsole: serve --dev says where the console is, and
// its dev password signs in there.
func TestDevModeNamesTheConsole(t *testing.T) {
	t.Chdir(t.TempDir())
	base, stderr, stop := startServe(t, "--dev")
	defer stop()
	out := stderr.String()
	if !strings.Contains(out, "or open the token console at "+base+"/ and sign in as dev") {
		t.Fatalf("dev mode output:\n%s", out)
	}
	pw := regexp.MustCompile(`printf '%s\\n' '([^']+)'`).FindStringSubmatch(out)
	if pw == nil {
		t.Fatalf("no password in:\n%s", out)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	if csrf == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	res, err = c.PostForm(base+"/signin", url.Values{"csrf": {csrf[1]}, "username": {"dev"}, "password": {pw[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in as dev: %d", res.StatusCode)
	}
	res, err = c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), `<span id="whoami">dev</span>`) {
		t.Errorf("not signed in as dev:\n%s", page)
	}
}

// TestConsoleSessionAcrossReplicas: two tokend replicas on one PostgreSQL
// share console sessions — a sign-in on one works on the other, and a
// sign-out on the other ends it on both.
func TestConsoleSessionAcrossReplicas(t *testing.T) {
	db := pgtest.URL(t)
	if _, _, err := run(t, "ada-pw-4711\n", nil, "user", "add", "ada", "--database", db); err != nil {
		t.Fatal(err)
	}
	a, _, stopA := startServe(t, "--database", db)
	defer stopA()
	b, _, stopB := startServe(t, "--database", db)
	defer stopB()
	jar, _ := cookiejar.New(nil) // cookies are per host, not port: both replicas get them
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(base string) string {
		t.Helper()
		res, err := c.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		page, _ := io.ReadAll(res.Body)
		return string(page)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrf := csrfRE.FindStringSubmatch(get(a))
	if csrf == nil {
		t.Fatal("no sign-in form")
	}
	res, err := c.PostForm(a+"/signin", url.Values{"csrf": {csrf[1]}, "username": {"ada"}, "password": {"ada-pw-4711"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	page := get(b)
	if !strings.Contains(page, `<span id="whoami">ada</span>`) {
		t.Fatalf("the session from replica A does not work on B:\n%s", page)
	}
	csrf = csrfRE.FindStringSubmatch(page) // the sign-out form's
	u, _ := url.Parse(a)
	kept := jar.Cookies(u)
	res, err = c.PostForm(b+"/signout", url.Values{"csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on B: %d", res.StatusCode)
	}
	// The sign-out cleared the cookie; a copy kept from before must not
	// work either, on either replica: the row is gone.
	jar.SetCookies(u, kept)
	for _, base := range []string{a, b} {
		if strings.Contains(get(base), `id="whoami"`) {
			t.Errorf("%s: still signed in after the sign-out on B", base)
		}
	}
}

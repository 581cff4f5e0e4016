package loginweb_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokenctl/tokenctl/internal/loginweb"
	"github.com/tokenctl/tokenctl/internal/store"
)

// TestConsoleSignInThroughTheProvider: the console's provider button
// (POST /login/console) runs the same round trip as a device approval and
// ends in ConsoleSignIn for the verified, allowed user, with the sign-in
// in their audit trail; a refused user never reaches it, and a post
// without the session's CSRF token starts nothing.
func TestConsoleSignInThroughTheProvider(t *testing.T) {
	var mu sync.Mutex
	var signedIn []string
	e := newEnv(t, nil, func(c *loginweb.Config) {
		c.ConsoleSignIn = func(w http.ResponseWriter, r *http.Request, u store.User) {
			mu.Lock()
			signedIn = append(signedIn, u.Username)
			mu.Unlock()
			w.Write([]byte("console session for " + u.Username))
		}
	})
	start := func(b *browser) (int, string) {
		t.Helper()
		// The Lax pre-session and its CSRF token, from any page with a
		// form (the console's sign-in page, in tokend).
		_, page := b.do("GET", e.start().VerificationURIComplete, nil)
		return b.do("POST", e.url+loginweb.ConsolePath, url.Values{"csrf": {field(t, csrfRE, page)}, "provider": {"corp"}})
	}
	login := func(b *browser, page string, i int) (int, string) {
		t.Helper()
		return b.do("POST", e.idp.Issuer+"/login/username", url.Values{"id": {field(t, authReqRE, page)},
			"username": {users[i].Username}, "password": {users[i].Password}})
	}

	b := newBrowser(t)
	status, page := start(b)
	if status != 200 || !strings.Contains(page, `name="password"`) {
		t.Fatalf("provider login page: %d\n%s", status, page)
	}
	if status, page = login(b, page, 0); status != 200 || page != "console session for alice@example.com" {
		t.Fatalf("callback: %d\n%s", status, page)
	}
	u, err := e.st.UserByName(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := e.st.ListEvents(context.Background(), store.EventListOptions{UserID: u.ID, Types: []string{store.EventSSOLogin}, Limit: 10})
	if len(evs) != 1 || evs[0].TrustPolicy != "corp" || evs[0].ActorKind != store.ActorSSO {
		t.Errorf("sso_login events = %+v", evs)
	}

	m := newBrowser(t)
	_, page = start(m)
	if status, page = login(m, page, 1); status != http.StatusForbidden || !strings.Contains(page, "not allowed") {
		t.Errorf("mallory's callback: %d\n%s", status, page)
	}

	// The callback in another browser is refused, and points back to the
	// sign-in page rather than to a terminal.
	a := newBrowser(t)
	a.c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == loginweb.CallbackPath {
			a.callback = r.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	_, page = start(a)
	login(a, page, 0)
	if status, page := newBrowser(t).do("GET", a.callback, nil); status != http.StatusBadRequest ||
		!strings.Contains(page, "started in another browser. Sign in again from tokend's sign-in page") {
		t.Errorf("the callback in another browser: %d\n%s", status, page)
	}

	x := newBrowser(t)
	x.do("GET", e.url+loginweb.DevicePath, nil)
	if status, _ := x.do("POST", e.url+loginweb.ConsolePath, url.Values{"csrf": {"forged"}, "provider": {"corp"}}); status != http.StatusForbidden {
		t.Errorf("a forged CSRF token: %d", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(signedIn, ",") != "alice@example.com" {
		t.Errorf("ConsoleSignIn called for %v, want alice@example.com only", signedIn)
	}
}

// TestConsoleSignInNeedsAConsole: without ConsoleSignIn there is nothing
// to start.
func TestConsoleSignInNeedsAConsole(t *testing.T) {
	e := newEnv(t, nil)
	b := newBrowser(t)
	_, page := b.do("GET", e.start().VerificationURIComplete, nil)
	if status, page := b.do("POST", e.url+loginweb.ConsolePath, url.Values{"csrf": {field(t, csrfRE, page)}, "provider": {"corp"}}); status != http.StatusNotFound {
		t.Errorf("POST %s without a console: %d\n%s", loginweb.ConsolePath, status, page)
	}
}

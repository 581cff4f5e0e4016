package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/console"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is the console and the API over a real SQLite file, as tokend
// puts them together, with a settable clock and a browser-like client
// (cookie jar, no redirects followed).
type fixture struct {
	t     testing.TB
	srv   *httptest.Server
	st    store.Store
	db    string // the SQLite file
	clock *clock
	c     *http.Client
}

func newFixture(t testing.TB, tls bool, mod func(*console.Config, *server.Config)) *fixture {
	t.Helper()
	db := filepath.Join(t.TempDir(), "tokend.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, db: db, clock: &clock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}}
	for _, u := range []struct {
		name, pw string
		admin    bool
	}{{"ada", adaPassword, false}, {"root", rootPassword, true}} {
		hash, err := password.Hash(u.pw)
		if err != nil {
			t.Fatal(err)
		}
		role := store.RoleMember
		if u.admin {
			role = store.RoleAdmin
		}
		if err := st.CreateUser(context.Background(), store.User{ID: store.NewID(f.clock.Now()), Username: u.name, PasswordHash: hash,
			CreatedAt: f.clock.Now(), Role: role, Kind: store.KindPerson}); err != nil {
			t.Fatal(err)
		}
	}
	scfg := server.Config{Now: f.clock.Now}
	ccfg := console.Config{Store: st, PasswordLogin: true, Secure: tls, Now: f.clock.Now}
	if mod != nil {
		mod(&ccfg, &scfg)
	}
	ccfg.API = server.New(scfg, st, ccfg.Logger) // one log for both, as in tokend
	con := console.New(ccfg)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Owns(r.URL.Path) {
			con.ServeHTTP(w, r)
			return
		}
		ccfg.API.ServeHTTP(w, r)
	})
	if tls {
		f.srv = httptest.NewTLSServer(h)
		f.c = f.srv.Client()
	} else {
		f.srv = httptest.NewServer(h)
		f.c = &http.Client{}
	}
	t.Cleanup(f.srv.Close)
	f.c.Jar, _ = cookiejar.New(nil)
	f.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return f
}

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request as the browser would (Origin on posts) unless
// headers override it.
func (f *fixture) do(method, path string, form url.Values, headers map[string]string) answer {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the form on path.
func (f *fixture) csrf(path string) string {
	f.t.Helper()
	a := f.do("GET", path, nil, nil)
	m := csrfField.FindStringSubmatch(a.body)
	if m == nil {
		f.t.Fatalf("GET %s (%d) has no CSRF field:\n%s", path, a.status, a.body)
	}
	return m[1]
}

func (f *fixture) signIn(user, pw string) answer {
	f.t.Helper()
	return f.do("POST", "/signin", url.Values{"csrf": {f.csrf("/")}, "username": {user}, "password": {pw}}, nil)
}

func (f *fixture) signedIn() bool {
	f.t.Helper()
	return strings.Contains(f.do("GET", "/", nil, nil).body, `id="nav-tokens"`)
}

// tokens is ada's tokens, straight from the store.
func (f *fixture) tokens() []store.Token {
	f.t.Helper()
	u, err := f.st.UserByName(context.Background(), "ada")
	if err != nil {
		f.t.Fatal(err)
	}
	toks, _, err := f.st.ScanTokens(context.Background(), store.ListOptions{UserID: u.ID, Limit: api.MaxPageSize, Now: f.clock.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return toks
}

func TestSessionCookieAndHeaders(t *testing.T) {
	for _, tls := range []bool{false, true} {
		f := newFixture(t, tls, nil)
		a := f.signIn("ada", adaPassword)
		if a.status != http.StatusSeeOther {
			t.Fatalf("tls %v: sign-in answered %d:\n%s", tls, a.status, a.body)
		}
		var c *http.Cookie
		for _, k := range (&http.Response{Header: a.header}).Cookies() {
			if strings.HasSuffix(k.Name, "tokend_console") {
				c = k
			}
		}
		wantName := map[bool]string{false: "tokend_console", true: "__Host-tokend_console"}[tls]
		if c == nil || c.Name != wantName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tls ||
			c.MaxAge != int(console.DefaultSessionLifetime/time.Second) || len(c.Value) != 26 {
			t.Fatalf("tls %v: the session cookie is %+v", tls, c)
		}
		// The cookie holds a random id, and the store only its digest.
		cs, err := f.st.UseConsoleSession(context.Background(), [32]byte{}, f.clock.Now(), time.Hour)
		if err == nil {
			t.Errorf("a zero digest found session %+v", cs)
		}

		csrf := f.csrf("/tokens/new")
		a = f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"ci"}, "scope": {"tokens:read"}}, nil)
		if a.status != http.StatusCreated || !strings.Contains(a.body, `id="secret"`) {
			t.Fatalf("tls %v: create answered %d:\n%s", tls, a.status, a.body)
		}
		for k, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": console.CSP} {
			if got := a.header.Get(k); got != want {
				t.Errorf("tls %v: the secret page's %s is %q, want %q", tls, k, got, want)
			}
		}
		if !strings.Contains(console.CSP, "frame-ancestors 'none'") || strings.Contains(console.CSP, "unsafe-inline") {
			t.Errorf("CSP %q", console.CSP)
		}
		// The page itself carries no inline script or style for the CSP to
		// refuse: the script and stylesheet are files.
		if strings.Contains(a.body, "<script>") || strings.Contains(a.body, "<style") || strings.Contains(a.body, "style=") {
			t.Errorf("tls %v: the page has inline script or style", tls)
		}
	}
}

// TestStateChangesNeedCSRFAndOrigin: a post with no or a wrong CSRF
// token, or from another origin, changes nothing.
func TestStateChangesNeedCSRFAndOrigin(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	for name, c := range map[string]struct {
		form    url.Values
		headers map[string]string
	}{
		"no csrf":                {url.Values{"name": {"x"}}, nil},
		"wrong csrf":             {url.Values{"name": {"x"}, "csrf": {"AAAA" + csrf[4:]}}, nil},
		"cross-site":             {url.Values{"name": {"x"}, "csrf": {csrf}}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		"other origin, no fetch": {url.Values{"name": {"x"}, "csrf": {csrf}}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": ""}},
		"same site, other port":  {url.Values{"name": {"x"}, "csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
	} {
		if a := f.do("POST", "/tokens/new", c.form, c.headers); a.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, a.status)
		}
	}
	if n := len(f.tokens()); n != 0 {
		t.Fatalf("%d tokens created by refused posts", n)
	}
	// The same post done right works, so the refusals were the checks'.
	if a := f.do("POST", "/tokens/new", url.Values{"name": {"x"}, "csrf": {csrf}}, nil); a.status != http.StatusCreated {
		t.Errorf("a proper post: %d", a.status)
	}
}

func TestTimeoutsAndSignOut(t *testing.T) {
	f := newFixture(t, false, func(c *console.Config, _ *server.Config) {
		c.IdleTimeout, c.SessionLifetime = 10*time.Minute, time.Hour
	})
	f.signIn("ada", adaPassword)
	// Busy: every 9 minutes, alive until the absolute limit.
	for range 6 {
		f.clock.Add(9 * time.Minute)
		if !f.signedIn() {
			t.Fatalf("signed out while in use at %s", f.clock.Now())
		}
	}
	f.clock.Add(7 * time.Minute) // 61 minutes after sign-in
	if f.signedIn() {
		t.Fatal("alive past the absolute limit")
	}

	f.signIn("ada", adaPassword)
	f.clock.Add(10 * time.Minute)
	if f.signedIn() {
		t.Fatal("alive after the idle limit")
	}

	f.signIn("ada", adaPassword)
	jar := f.c.Jar.Cookies(mustURL(f.srv.URL))
	if a := f.do("POST", "/signout", url.Values{"csrf": {f.csrf("/")}}, nil); a.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", a.status)
	}
	// The old cookie, replayed, finds no session: the row is gone.
	f.c.Jar, _ = cookiejar.New(nil)
	f.c.Jar.SetCookies(mustURL(f.srv.URL), jar)
	if f.signedIn() {
		t.Error("the cookie still works after sign-out")
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

// TestDisabledUserIsSignedOutAtOnce: disabling the account ends its
// console session on the next request, on any page.
func TestDisabledUserIsSignedOutAtOnce(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	if err := f.st.SetUserDisabled(context.Background(), "ada", true, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if a := f.do("POST", "/tokens/new", url.Values{"name": {"x"}, "csrf": {csrf}}, nil); a.status != http.StatusForbidden {
		t.Errorf("a disabled user's post: %d", a.status)
	}
	if err := f.st.SetUserDisabled(context.Background(), "ada", false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if f.signedIn() || len(f.tokens()) != 0 {
		t.Error("the session outlived the disabling")
	}
}

// TestPasswordSignInSharesTheAPIBudget: wrong passwords on the form spend
// the same per-account budget as the API's Basic sign-in (5 a minute), and
// are recorded as the API records them; password login off hides the
// form and refuses it.
func TestPasswordSignInSharesTheAPIBudget(t *testing.T) {
	f := newFixture(t, false, nil)
	for i := range server.DefaultPasswordFailures {
		if a := f.signIn("ada", "wrong"); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "Wrong username or password.") {
			t.Fatalf("wrong password %d: %d", i+1, a.status)
		}
	}
	a := f.signIn("ada", adaPassword)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("after %d wrong passwords the right one got %d (Retry-After %q), want 429", server.DefaultPasswordFailures, a.status, a.header.Get("Retry-After"))
	}
	u, _ := f.st.UserByName(context.Background(), "ada")
	evs, err := f.st.ListEvents(context.Background(), store.EventListOptions{UserID: u.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range evs {
		if e.Type == store.EventAuthFailed {
			failed++
		}
	}
	if failed != server.DefaultPasswordFailures {
		t.Errorf("%d auth.failed events, want %d", failed, server.DefaultPasswordFailures)
	}

	off := newFixture(t, false, func(c *console.Config, s *server.Config) { c.PasswordLogin, s.DisablePasswordLogin = false, true })
	if err := off.st.CreateSSOProvider(context.Background(), store.SSOProvider{Name: "corp", Issuer: "https://idp.example", ClientID: "tokend",
		ClientSecret: "s", UsernameClaim: "email", Scopes: []string{}, CreatedAt: off.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	page := off.do("GET", "/", nil, nil)
	if strings.Contains(page.body, `id="password"`) || !strings.Contains(page.body, `id="sso-corp"`) {
		t.Errorf("with password login off the sign-in page shows:\n%s", page.body)
	}
	if a := off.signIn("ada", adaPassword); a.status != http.StatusForbidden || off.signedIn() {
		t.Errorf("a password sign-in with password login off: %d", a.status)
	}
}

// TestConsoleActsThroughTheAPI: a create from the console is held to the
// API's rules (here the lifetime cap, shown beside its field) and leaves
// the API's audit event, by the console.
func TestConsoleActsThroughTheAPI(t *testing.T) {
	f := newFixture(t, false, func(_ *console.Config, s *server.Config) { s.MaxLifetime = 10 * 24 * time.Hour })
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"long"}, "expires_in_days": {"11"}}, nil)
	if a.status != http.StatusBadRequest || !regexp.MustCompile(`id="expiry-error">expires_in_seconds must be at most 864000`).MatchString(a.body) {
		t.Fatalf("an 11-day token under a 10-day cap: %d\n%s", a.status, a.body)
	}
	if !strings.Contains(a.body, "at most 10 days") {
		t.Error("the form does not show the server's maximum")
	}
	a = f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"bad\x01name"}}, nil)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="name-error">name must not contain control characters`) {
		t.Fatalf("a control character in the name: %d\n%s", a.status, a.body)
	}
	a = f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"ok"}, "expires_in_days": {"10"}, "scope": {"admin:read"}}, nil)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="scopes-error"`) {
		t.Fatalf("a member asking for admin:read: %d\n%s", a.status, a.body)
	}
	a = f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"ok"}, "expires_in_days": {"10"}}, nil)
	if a.status != http.StatusCreated {
		t.Fatalf("a 10-day token: %d", a.status)
	}
	u, _ := f.st.UserByName(context.Background(), "ada")
	evs, err := f.st.ListEvents(context.Background(), store.EventListOptions{UserID: u.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != store.EventTokenCreated || evs[0].ActorKind != store.ActorConsole || evs[0].TokenName != "ok" {
		t.Errorf("events %+v, want one token.created by the console", evs)
	}
	if act := f.do("GET", "/activity", nil, nil); !strings.Contains(act.body, "token.created") || !strings.Contains(act.body, "console") {
		t.Errorf("the activity page does not show the create:\n%s", act.body)
	}
}

// TestDeleteAllMatching: "select all matching" confirms with the count
// and names of the tokens the filter matches, then deletes exactly those
// — not a token of the same name made after the confirmation was shown.
func TestDeleteAllMatching(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	for _, n := range []string{"ci-1", "ci-2", "ci-3", "laptop"} {
		if a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {n}}, nil); a.status != http.StatusCreated {
			t.Fatalf("create %s: %d", n, a.status)
		}
		f.clock.Add(time.Second)
	}
	a := f.do("POST", "/tokens/select", url.Values{"csrf": {csrf}, "all": {"1"}, "name": {"ci-"}}, nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, "Delete 3 tokens?") || !strings.Contains(a.body, "<li>ci-2</li>") || strings.Contains(a.body, "laptop") {
		t.Fatalf("the confirmation (%d):\n%s", a.status, a.body)
	}
	before := regexp.MustCompile(`name="before" value="([^"]+)"`).FindStringSubmatch(a.body)
	if before == nil {
		t.Fatal("the confirmation carries no bound")
	}
	f.clock.Add(time.Second)
	if a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"ci-late"}}, nil); a.status != http.StatusCreated {
		t.Fatalf("create ci-late: %d", a.status)
	}
	a = f.do("POST", "/tokens/delete", url.Values{"csrf": {csrf}, "all": {"1"}, "name": {"ci-"}, "before": {before[1]}}, nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, "Deleted: 3.") {
		t.Fatalf("the delete (%d):\n%s", a.status, a.body)
	}
	var left []string
	for _, tok := range f.tokens() {
		left = append(left, tok.Name)
	}
	if strings.Join(left, " ") != "ci-late laptop" {
		t.Errorf("left %v, want ci-late and laptop", left)
	}
}

// TestExpiryAsADate: the form's date becomes the token's expiry (00:00
// UTC that day); days and a date together are refused beside the field.
func TestExpiryAsADate(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"x"}, "expires_in_days": {"3"}, "expires_on": {"2026-06-20"}}, nil)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="expiry-error">Give a number of days or a date, not both.`) {
		t.Fatalf("days and a date: %d\n%s", a.status, a.body)
	}
	if a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"x"}, "expires_on": {"2026-06-20"}}, nil); a.status != http.StatusCreated {
		t.Fatalf("a date: %d\n%s", a.status, a.body)
	}
	if toks := f.tokens(); len(toks) != 1 || !toks[0].ExpiresAt.Equal(time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("tokens %+v, want one expiring 2026-06-20 00:00 UTC", toks)
	}
}

// TestOversizedFormIsRefused: a form body past the console's limit is
// refused without a 500 and changes nothing.
func TestOversizedFormIsRefused(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"big"}, "description": {strings.Repeat("x", 1<<20)}}, nil)
	if a.status != http.StatusForbidden || len(f.tokens()) != 0 {
		t.Errorf("a 1 MiB form: %d, %d tokens", a.status, len(f.tokens()))
	}
}

// TestPublicURLIsATrustedOrigin: behind a proxy that rewrites Host, a
// browser without Sec-Fetch-Site posts with Origin = --public-url; that
// origin is accepted, another is not.
func TestPublicURLIsATrustedOrigin(t *testing.T) {
	const public = "https://tokend.example.com"
	for _, set := range []bool{true, false} {
		f := newFixture(t, false, func(c *console.Config, _ *server.Config) {
			if set {
				c.PublicURL = public
			}
		})
		f.signIn("ada", adaPassword)
		csrf := f.csrf("/tokens/new")
		a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"x"}}, map[string]string{"Origin": public, "Sec-Fetch-Site": ""})
		if want := map[bool]int{true: http.StatusCreated, false: http.StatusForbidden}[set]; a.status != want {
			t.Errorf("public URL set %v: a post from %s got %d, want %d", set, public, a.status, want)
		}
	}
}

// TestSigningInAgainEndsTheOldSession: a second sign-in in the same
// browser (a sign-in page left open in another tab) draws a new session
// and deletes the one it had.
func TestSigningInAgainEndsTheOldSession(t *testing.T) {
	f := newFixture(t, false, nil)
	pre := f.csrf("/")
	form := url.Values{"csrf": {pre}, "username": {"ada"}, "password": {adaPassword}}
	f.do("POST", "/signin", form, nil)
	old := f.c.Jar.Cookies(mustURL(f.srv.URL))
	if a := f.do("POST", "/signin", form, nil); a.status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", a.status)
	}
	if !f.signedIn() {
		t.Fatal("not signed in after the second sign-in")
	}
	f.c.Jar, _ = cookiejar.New(nil)
	f.c.Jar.SetCookies(mustURL(f.srv.URL), old)
	if f.signedIn() {
		t.Error("the first session still works")
	}
}

// TestExpiredRowsAreMarked: a token past its expiry stays in the table,
// marked, with its date on hover.
func TestExpiredRowsAreMarked(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	if a := f.do("POST", "/tokens/new", url.Values{"csrf": {f.csrf("/tokens/new")}, "name": {"brief"}, "expires_in_days": {"1"}}, nil); a.status != http.StatusCreated {
		t.Fatalf("create: %d", a.status)
	}
	f.clock.Add(25 * time.Hour)
	f.signIn("ada", adaPassword) // the session has been idle for a day
	page := f.do("GET", "/", nil, nil).body
	if !regexp.MustCompile(`<tr id="row-[^"]+" class="expired">`).MatchString(page) || !strings.Contains(page, `<strong class="badge">Expired</strong>`) ||
		!strings.Contains(page, `title="2026-06-02 12:00 UTC">expired 1h ago</time>`) {
		t.Errorf("the expired row is not marked:\n%s", page)
	}
}

// TestAdminPagesRefuseMembers: a member's hand-made posts to the admin
// routes do nothing; an admin's filter refusal shows beside the filters.
func TestAdminPagesRefuseMembers(t *testing.T) {
	f := newFixture(t, false, nil)
	f.signIn("ada", adaPassword)
	csrf := f.csrf("/tokens/new")
	if a := f.do("POST", "/tokens/new", url.Values{"csrf": {csrf}, "name": {"mine"}}, nil); a.status != http.StatusCreated {
		t.Fatal(a.status)
	}
	id := f.tokens()[0].ID
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/admin/tokens/delete", url.Values{"csrf": {csrf}, "id": {id}}},
		{"/admin/tokens/select", url.Values{"csrf": {csrf}, "id": {id}}},
		{"/admin/users/root/disable", url.Values{"csrf": {csrf}, "confirm": {"1"}}},
	} {
		if a := f.do("POST", c.path, c.form, nil); a.status != http.StatusNotFound {
			t.Errorf("a member's POST %s: %d, want 404", c.path, a.status)
		}
	}
	if a := f.do("GET", "/admin", nil, nil); a.status != http.StatusNotFound || strings.Contains(a.body, "admin-tokens") {
		t.Errorf("a member's GET /admin: %d", a.status)
	}
	root, _ := f.st.UserByName(context.Background(), "root")
	if len(f.tokens()) != 1 || root.Disabled {
		t.Fatal("a member's admin post changed something")
	}

	f.c.Jar, _ = cookiejar.New(nil)
	f.signIn("root", rootPassword)
	a := f.do("GET", "/admin?expiring_days=soon", nil, nil)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="filter-error" role="alert">Expiring within takes a whole number of days`) {
		t.Errorf("a bad number of days: %d\n%s", a.status, a.body)
	}
	// The API's own refusal of a filter, beside the filters.
	a = f.do("GET", "/admin?status=sometimes", nil, nil)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="filter-error" role="alert">status must be active, expired or all`) {
		t.Errorf("a bad status: %d\n%s", a.status, a.body)
	}
	a = f.do("GET", "/admin?user=ada&name=min", nil, nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, `id="admin-row-`+id+`"`) {
		t.Errorf("the filtered admin page lacks ada's token: %d", a.status)
	}
}

var secretField = regexp.MustCompile(`id="secret" readonly value="([^"]+)"`)

// TestSecretIsNeverStored: the secret a create shows is in that one
// response only — not in the database (file or WAL), not in the log, not
// on any later page.
func TestSecretIsNeverStored(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	f := newFixture(t, false, func(c *console.Config, _ *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	f.signIn("ada", adaPassword)
	a := f.do("POST", "/tokens/new", url.Values{"csrf": {f.csrf("/tokens/new")}, "name": {"ci"}}, nil)
	m := secretField.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", a.body)
	}
	secret := m[1]
	for _, p := range []string{"/", "/activity", "/tokens/new"} {
		if strings.Contains(f.do("GET", p, nil, nil).body, secret) {
			t.Errorf("%s shows the secret again", p)
		}
	}
	for _, file := range []string{f.db, f.db + "-wal"} {
		b, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) || strings.Contains(string(b), secret[4:]) {
			t.Errorf("%s holds the secret", filepath.Base(file))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "/v1/tokens") {
		t.Fatalf("the log did not see the API call:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secret[4:]) {
		t.Error("the log holds the secret")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

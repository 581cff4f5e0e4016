package loginweb_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/clock"
	"github.com/tokenctl/tokenctl/internal/loginweb"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/ssotest"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// env is tokend (API + pages) on a real SQLite file, in front of a real
// OpenID provider.
type env struct {
	t   *testing.T
	st  *sqlite.Store
	url string
	idp *ssotest.Provider
	clk *clock.Settable
	// logs is what the pages logged (one test at a time writes it).
	logs *lockedLog
}

// lockedLog collects log lines written from the server's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var users = []ssotest.User{
	{ID: "u-alice", Username: "alice", Password: "alice-pw-1", Email: "alice@example.com", Groups: []string{"eng", "admins"}},
	{ID: "u-mallory", Username: "mallory", Password: "mallory-pw-1", Email: "mallory@evil.example", Groups: []string{"eng"}},
}

func newEnv(t *testing.T, prov func(*store.SSOProvider), cfgs ...func(*loginweb.Config)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	idp := ssotest.Start(t, users...)
	p := store.SSOProvider{Name: "corp", Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		UsernameClaim: "email", Allow: []store.ClaimMatch{{Claim: "email", Glob: "*@example.com"}}, CreateUsers: true, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if prov != nil {
		prov(&p)
	}
	if err := st.CreateSSOProvider(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	// One clock for both halves, so a test can step past the poll interval.
	clk := clock.NewSettable(time.Now().UTC())
	logs := &lockedLog{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	cfg := server.Config{AuthFailures: 5, Now: clk.Now}
	mux := http.NewServeMux()
	mux.Handle("/", server.New(cfg, st, nil))
	lcfg := loginweb.Config{Store: st, Limiter: server.NewAddressLimiter(cfg, st, nil),
		Now: clk.Now, ProviderTimeout: 2 * time.Second, Logger: logger}
	for _, f := range cfgs {
		f(&lcfg)
	}
	// As tokend serve mounts them: behind the API's request id and access log.
	mux.Handle("/login/", server.Pages(cfg, logger, loginweb.New(lcfg)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	idp.AllowRedirect(srv.URL + loginweb.CallbackPath)
	return &env{t: t, st: st, url: srv.URL, idp: idp, clk: clk, logs: logs}
}

func (e *env) start() api.DeviceAuthorization {
	e.t.Helper()
	res, err := http.Post(e.url+"/v1/auth/device", "application/json", strings.NewReader(`{"client_host":"laptop"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var da api.DeviceAuthorization
	if err := json.NewDecoder(res.Body).Decode(&da); err != nil || res.StatusCode != 200 {
		e.t.Fatalf("start: %d %v", res.StatusCode, err)
	}
	return da
}

// poll polls as a well-behaved client does: an interval after the last.
func (e *env) poll(da api.DeviceAuthorization) (int, string) {
	e.t.Helper()
	e.clk.Advance(time.Duration(da.Interval) * time.Second)
	res, err := http.Post(e.url+"/v1/auth/device/token", "application/json", strings.NewReader(`{"device_code":"`+da.DeviceCode+`"}`))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode == 200 {
		return 200, m["token"].(string)
	}
	return res.StatusCode, m["code"].(string)
}

// browser is a cookie-keeping client that records the callback URL it
// was sent to, so a test can replay it.
type browser struct {
	t        *testing.T
	c        *http.Client
	callback string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == loginweb.CallbackPath {
			b.callback = r.URL.String()
		}
		return nil
	}}
	return b
}

func (b *browser) do(method, u string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, _ := http.NewRequest(method, u, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(r)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	return res.StatusCode, html.UnescapeString(string(page))
}

var (
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	authReqRE = regexp.MustCompile(`name="id" value="([^"]+)"`)
)

func field(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, page)
	}
	return m[1]
}

// signIn confirms the code and signs in at the provider as user; it
// returns tokend's last page.
func (b *browser) signIn(e *env, da api.DeviceAuthorization, user ssotest.User) (int, string) {
	b.t.Helper()
	status, page := b.do("GET", da.VerificationURIComplete, nil)
	if status != 200 || !strings.Contains(page, "tokenctl on laptop, from 127.0.0.1, asked at ") || !strings.Contains(page, da.UserCode) {
		b.t.Fatalf("confirm page: %d\n%s", status, page)
	}
	status, page = b.do("POST", e.url+loginweb.DevicePath, url.Values{"csrf": {field(b.t, csrfRE, page)}, "user_code": {da.UserCode}, "provider": {"corp"}})
	if status != 200 || !strings.Contains(page, `name="password"`) {
		b.t.Fatalf("provider login page: %d\n%s", status, page)
	}
	return b.do("POST", e.idp.Issuer+"/login/username", url.Values{"id": {field(b.t, authReqRE, page)}, "username": {user.Username}, "password": {user.Password}})
}

// failure returns the one auth.failed event in no user's trail, checked
// for what every such event must be: through corp, with the reason, and
// nothing secret in it (no ID token, no password).
func (e *env) failure(reason string) store.Event {
	e.t.Helper()
	evs, err := e.st.ListEvents(context.Background(), store.EventListOptions{UserID: store.AnyUser, Types: []string{store.EventAuthFailed}, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var got []store.Event
	for _, ev := range evs {
		if ev.UserID == "" {
			got = append(got, ev)
		}
	}
	if len(got) != 1 || got[0].Reason != reason || got[0].ActorKind != store.ActorSSO || got[0].TrustPolicy != "corp" ||
		got[0].ClientAddress != "127.0.0.1" {
		e.t.Fatalf("auth.failed events with no user = %+v, want one %q through corp", got, reason)
	}
	b, _ := json.Marshal(got[0])
	for _, u := range users {
		if strings.Contains(string(b), u.Password) {
			e.t.Fatalf("the event holds a password: %s", b)
		}
	}
	if strings.Contains(string(b), "eyJ") {
		e.t.Fatalf("the event holds a token: %s", b)
	}
	return got[0]
}

func TestSignInThroughTheProvider(t *testing.T) {
	e := newEnv(t, func(p *store.SSOProvider) { p.AdminIf = []store.ClaimMatch{{Claim: "groups", Glob: "admins"}} })
	da := e.start()
	if s, c := e.poll(da); s != 400 || c != api.CodeAuthorizationPending {
		t.Fatalf("poll before = %d %s", s, c)
	}
	b := newBrowser(t)
	status, page := b.signIn(e, da, users[0])
	if status != 200 || !strings.Contains(page, "Signed in as alice@example.com") {
		t.Fatalf("callback page: %d\n%s", status, page)
	}
	status, secret := e.poll(da)
	if status != 200 {
		t.Fatalf("poll after = %d %s", status, secret)
	}
	r, _ := http.NewRequest("GET", e.url+"/v1/user", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(r)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the login token does not work: %v %v", res, err)
	}
	res.Body.Close()
	// Provisioned, marked as coming from corp, with the audit event.
	u, err := e.st.UserByName(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := e.st.UserSSOProvider(context.Background(), u.ID); p != "corp" {
		t.Fatalf("provider of the new user = %q", p)
	}
	evs, _ := e.st.ListEvents(context.Background(), store.EventListOptions{UserID: u.ID, Types: []string{store.EventSSOLogin}, Limit: 10})
	if len(evs) != 1 || evs[0].TrustPolicy != "corp" || evs[0].Claims["sub"] != "u-alice" || evs[0].Claims["email"] != "alice@example.com" ||
		evs[0].Claims["groups"] != "eng admins" || evs[0].ActorKind != store.ActorSSO {
		t.Fatalf("sso_login events = %+v", evs)
	}

	// The callback replayed (same browser, same URL): nothing happens.
	if b.callback == "" {
		t.Fatal("no callback seen")
	}
	status, page = b.do("GET", b.callback, nil)
	if status != 400 || !strings.Contains(page, "already completed") {
		t.Fatalf("replayed callback: %d\n%s", status, page)
	}
	// The code, used, cannot be confirmed again.
	status, page = b.do("GET", da.VerificationURIComplete, nil)
	if status != 409 || !strings.Contains(page, "already used") {
		t.Fatalf("used code: %d\n%s", status, page)
	}
}

func TestSignInRefusals(t *testing.T) {
	e := newEnv(t, nil)

	t.Run("not allowed by the policy", func(t *testing.T) {
		da := e.start()
		status, page := newBrowser(t).signIn(e, da, users[1])
		if status != 403 || !strings.Contains(page, "not allowed to sign in here") {
			t.Fatalf("%d\n%s", status, page)
		}
		if s, c := e.poll(da); s != 400 || c != api.CodeAccessDenied {
			t.Fatalf("poll = %d %s", s, c)
		}
		if _, err := e.st.UserByName(context.Background(), "mallory@evil.example"); err == nil {
			t.Fatal("a refused person got an account")
		}
		// No account: the event is in no user's trail, naming who it was.
		if ev := e.failure("not allowed"); ev.Claims["email"] != "mallory@evil.example" || ev.Claims["sub"] != "u-mallory" {
			t.Fatalf("not allowed event = %+v", ev)
		}
	})

	t.Run("deny in the browser", func(t *testing.T) {
		da := e.start()
		b := newBrowser(t)
		_, page := b.do("GET", da.VerificationURIComplete, nil)
		status, page := b.do("POST", e.url+loginweb.DevicePath, url.Values{"csrf": {field(t, csrfRE, page)}, "user_code": {da.UserCode}, "action": {"deny"}})
		if status != 200 || !strings.Contains(page, "Nothing was signed in") {
			t.Fatalf("%d\n%s", status, page)
		}
		if s, c := e.poll(da); s != 400 || c != api.CodeAccessDenied {
			t.Fatalf("poll = %d %s", s, c)
		}
	})

	t.Run("a form without the CSRF token", func(t *testing.T) {
		da := e.start()
		b := newBrowser(t)
		b.do("GET", da.VerificationURIComplete, nil)
		for _, csrf := range []string{"", "forged"} {
			status, page := b.do("POST", e.url+loginweb.DevicePath, url.Values{"csrf": {csrf}, "user_code": {da.UserCode}, "provider": {"corp"}})
			if status != 403 || !strings.Contains(page, "did not come from this site") {
				t.Fatalf("csrf %q: %d\n%s", csrf, status, page)
			}
		}
		if s, c := e.poll(da); s != 400 || c != api.CodeAuthorizationPending {
			t.Fatalf("poll = %d %s", s, c)
		}
	})

	t.Run("a wrong state", func(t *testing.T) {
		status, page := newBrowser(t).do("GET", e.url+loginweb.CallbackPath+"?state=forged&code=x", nil)
		if status != 400 || !strings.Contains(page, "not started here") {
			t.Fatalf("%d\n%s", status, page)
		}
	})

	t.Run("the callback in another browser", func(t *testing.T) {
		da := e.start()
		b := newBrowser(t)
		b.c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			if r.URL.Path == loginweb.CallbackPath {
				b.callback = r.URL.String()
				return http.ErrUseLastResponse // stop: another browser will finish
			}
			return nil
		}
		b.signIn(e, da, users[0])
		status, page := newBrowser(t).do("GET", b.callback, nil)
		if status != 400 || !strings.Contains(page, "started in another browser") {
			t.Fatalf("%d\n%s", status, page)
		}
		if s, c := e.poll(da); s != 400 || c != api.CodeAuthorizationPending {
			t.Fatalf("poll = %d %s", s, c)
		}
	})

	t.Run("unknown codes are limited per address", func(t *testing.T) {
		// Its own server: the refusals above spent this address's budget.
		e := newEnv(t, nil)
		b := newBrowser(t)
		for i := range 5 {
			status, page := b.do("GET", e.url+loginweb.DevicePath+"?user_code=BCDF-GHJK", nil)
			if status != 404 || !strings.Contains(page, "No such code") {
				t.Fatalf("guess %d: %d\n%s", i, status, page)
			}
		}
		da := e.start() // even a right code is refused now
		status, page := b.do("GET", da.VerificationURIComplete, nil)
		if status != 429 || !strings.Contains(page, "Too many wrong codes") {
			t.Fatalf("after 5 wrong guesses: %d\n%s", status, page)
		}
	})
}

func TestIDTokenForAnotherClientIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.idp.IssueForAudience("another-client")
	da := e.start()
	status, page := newBrowser(t).signIn(e, da, users[0])
	if status != 403 || !strings.Contains(page, "did not verify for this server") {
		t.Fatalf("%d\n%s", status, page)
	}
	if !strings.Contains(e.logs.String(), `expected audience \"tokend\" got [\"another-client\"]`) {
		t.Fatalf("refused for another reason than the audience:\n%s", e.logs.String())
	}
	if ev := e.failure("provider error"); ev.Detail != "id token" || len(ev.Claims) != 0 {
		t.Fatalf("bad ID token event = %+v", ev)
	}
	if s, c := e.poll(da); s != 400 || c != api.CodeAccessDenied {
		t.Fatalf("poll = %d %s", s, c)
	}
	if _, err := e.st.UserByName(context.Background(), "alice@example.com"); err == nil {
		t.Fatal("a refused ID token made an account")
	}
}

func TestExpiredCodeIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	da := e.start()
	e.clk.Advance(server.DeviceCodeLifetime)
	status, page := newBrowser(t).do("GET", da.VerificationURIComplete, nil)
	if status != 410 || !strings.Contains(page, "This code has expired") {
		t.Fatalf("%d\n%s", status, page)
	}
}

// --admin-if makes a matching person an admin at sign-in; a disabled user
// is refused in the browser and the device code is denied.
func TestAdminIfAndDisabledUsers(t *testing.T) {
	e := newEnv(t, func(p *store.SSOProvider) { p.AdminIf = []store.ClaimMatch{{Claim: "groups", Glob: "admins"}} })
	ctx := context.Background()
	da := e.start()
	if status, page := newBrowser(t).signIn(e, da, users[0]); status != 200 {
		t.Fatalf("alice: %d\n%s", status, page)
	}
	if s, _ := e.poll(da); s != 200 {
		t.Fatalf("alice's poll = %d", s)
	}
	u, err := e.st.UserByName(ctx, "alice@example.com")
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("alice after sign-in: role %q, %v; want admin", u.Role, err)
	}
	if err := e.st.SetUserDisabled(ctx, "alice@example.com", true, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	da = e.start()
	status, page := newBrowser(t).signIn(e, da, users[0])
	if status != 403 || !strings.Contains(page, "is disabled") {
		t.Fatalf("disabled alice: %d\n%s", status, page)
	}
	if s, c := e.poll(da); s != 400 || c != api.CodeAccessDenied {
		t.Fatalf("disabled alice's poll = %d %s", s, c)
	}
	evs, _ := e.st.ListEvents(ctx, store.EventListOptions{UserID: u.ID, Types: []string{store.EventAuthFailed}, Limit: 10})
	if len(evs) != 1 || evs[0].Reason != "disabled user" || evs[0].TrustPolicy != "corp" || evs[0].Claims["sub"] != "u-alice" {
		t.Fatalf("disabled alice's auth.failed = %+v", evs)
	}
}

func TestUnknownUserWithoutCreateUsers(t *testing.T) {
	e := newEnv(t, func(p *store.SSOProvider) { p.CreateUsers = false })
	da := e.start()
	status, page := newBrowser(t).signIn(e, da, users[0])
	if status != 403 || !strings.Contains(page, "There is no account alice@example.com") {
		t.Fatalf("%d\n%s", status, page)
	}
	if ev := e.failure("unknown user"); ev.Claims["email"] != "alice@example.com" || ev.Claims["sub"] != "u-alice" {
		t.Fatalf("unknown user event = %+v", ev)
	}
	if s, c := e.poll(da); s != 400 || c != api.CodeAccessDenied {
		t.Fatalf("poll = %d %s", s, c)
	}
}

func TestProviderDownOrSlow(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // longer than the pages wait (2 s), until the test ends
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(slow.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, c := range []struct {
		issuer string
		status int
		want   string
	}{
		{slow.URL, 504, "did not answer in time"},
		{downURL, 502, "could not be reached"},
	} {
		e := newEnv(t, func(p *store.SSOProvider) { p.Issuer = c.issuer })
		da := e.start()
		b := newBrowser(t)
		_, page := b.do("GET", da.VerificationURIComplete, nil)
		status, page := b.do("POST", e.url+loginweb.DevicePath, url.Values{"csrf": {field(t, csrfRE, page)}, "user_code": {da.UserCode}, "provider": {"corp"}})
		if status != c.status || !strings.Contains(page, c.want) {
			t.Errorf("issuer %s: %d\n%s", c.issuer, status, page)
		}
		if s, code := e.poll(da); s != 400 || code != api.CodeAuthorizationPending {
			t.Errorf("poll = %d %s", s, code)
		}
		if ev := e.failure("provider error"); ev.Detail != "discovery" {
			t.Errorf("provider error event = %+v", ev)
		}
	}
}

// A page's warning carries the request id of its access line and of the
// X-Request-Id the browser got, so an operator can tie the two; and it
// names no secret from the request.
func TestProviderErrorLogCarriesRequestID(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	e := newEnv(t, func(p *store.SSOProvider) { p.Issuer = downURL })
	da := e.start()
	b := newBrowser(t)
	_, page := b.do("GET", da.VerificationURIComplete, nil)
	csrf := field(t, csrfRE, page)
	form := url.Values{"csrf": {csrf}, "user_code": {da.UserCode}, "provider": {"corp"}}
	req, _ := http.NewRequest("POST", e.url+loginweb.DevicePath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := res.Header.Get("X-Request-Id")
	if res.StatusCode != 502 || id == "" {
		t.Fatalf("status %d, X-Request-Id %q", res.StatusCode, id)
	}
	var warning, access string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		switch {
		case strings.Contains(line, `msg="sso provider error"`):
			warning = line
		case strings.Contains(line, "msg=request") && strings.Contains(line, "route=\"POST /login/device\"") && strings.Contains(line, "status=502"):
			access = line
		}
	}
	if !strings.Contains(warning, " request_id="+id+" ") && !strings.HasSuffix(warning, " request_id="+id) {
		t.Errorf("the warning does not carry request id %s:\n%s", id, e.logs.String())
	}
	if !strings.Contains(access, " request_id="+id+" ") {
		t.Errorf("no access line with request id %s:\n%s", id, e.logs.String())
	}
	for _, secret := range []string{da.UserCode, strings.ReplaceAll(da.UserCode, "-", ""), da.DeviceCode, csrf} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log holds a secret %q:\n%s", secret, e.logs.String())
		}
	}
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	res, err := http.Get(e.url + loginweb.DevicePath)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if res.Header.Get("Cache-Control") != "no-store" || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
		t.Fatalf("headers = %v", res.Header)
	}
	c := res.Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies = %+v", c)
	}
}

// A refusal of someone who has an account here goes to their own trail,
// not to the trail of no user.
func TestNotAllowedWithAnAccountIsInTheirTrail(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	u := store.User{ID: store.NewID(time.Now()), Username: "mallory@evil.example", CreatedAt: time.Now().UTC().Truncate(time.Second),
		Role: store.RoleMember, Kind: store.KindPerson}
	if err := e.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	da := e.start()
	if status, page := newBrowser(t).signIn(e, da, users[1]); status != 403 || !strings.Contains(page, "not allowed to sign in here") {
		t.Fatalf("%d\n%s", status, page)
	}
	evs, err := e.st.ListEvents(ctx, store.EventListOptions{UserID: store.AnyUser, Types: []string{store.EventAuthFailed}, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].UserID != u.ID || evs[0].Reason != "not allowed" || evs[0].Claims["email"] != "mallory@evil.example" {
		t.Fatalf("auth.failed events = %+v, %v; want one in mallory's trail", evs, err)
	}
}

// Forged or replayed callbacks spend the address's budget like wrong
// codes: no one can make tokend store pending sign-ins or write failure
// events without end.
func TestForgedCallbacksAreLimitedPerAddress(t *testing.T) {
	e := newEnv(t, nil)
	b := newBrowser(t)
	for i := range 5 {
		status, page := b.do("GET", e.url+loginweb.CallbackPath+"?state=forged-"+strconv.Itoa(i)+"&error=access_denied", nil)
		if status != 400 || !strings.Contains(page, "not started here") {
			t.Fatalf("forged callback %d: %d\n%s", i, status, page)
		}
	}
	status, page := b.do("GET", e.url+loginweb.CallbackPath+"?state=forged-6", nil)
	if status != 429 || !strings.Contains(page, "failed sign-ins") {
		t.Fatalf("after 5 forged callbacks: %d\n%s", status, page)
	}
}

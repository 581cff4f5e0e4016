package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
	"github.com/tokenctl/tokenctl/internal/usercode"

	"net/http/httptest"
)

// webServer is tokend's API over SQLite with an SSO provider configured;
// the tests approve device codes in the store, as /login/callback does
// (the pages are loginweb's tests and the browser end-to-end test's).
type webServer struct {
	*httptest.Server
	st    *sqlite.Store
	alice store.User
}

func newWebServer(t *testing.T, cfg server.Config) *webServer {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, _ := password.Hash("pw-alice")
	alice := store.User{ID: store.NewID(time.Now()), Username: "alice", PasswordHash: hash, CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSSOProvider(context.Background(), store.SSOProvider{Name: "corp", Issuer: "https://idp.example", ClientID: "c",
		ClientSecret: "s", UsernameClaim: "email", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	cfg.DevicePollInterval = time.Second
	srv := httptest.NewServer(server.New(cfg, st, nil))
	t.Cleanup(srv.Close)
	return &webServer{Server: srv, st: st, alice: alice}
}

// fakeBrowser is a $BROWSER that writes the URL it is given to a file.
func fakeBrowser(t *testing.T, e *testEnv) string {
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	script := filepath.Join(dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+urlFile+".tmp && mv "+urlFile+".tmp "+urlFile+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.vars["BROWSER"] = script
	return urlFile
}

// opened waits for the browser to be given a URL and returns the user code in it.
func opened(t *testing.T, urlFile string) string {
	for range 600 {
		if b, err := os.ReadFile(urlFile); err == nil {
			_, raw, _ := strings.Cut(string(b), "user_code=")
			code, ok := usercode.Normalize(strings.ReplaceAll(raw, "%2D", "-"))
			if !ok {
				t.Fatalf("the browser was given %q", b)
			}
			return code
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the browser was never opened")
	return ""
}

func TestLoginWebStoresTheLoginTokenAndRevokesTheOneItReplaces(t *testing.T) {
	srv := newWebServer(t, server.Config{})
	e := newTestEnv(t)
	urlFile := fakeBrowser(t, e)
	login := func() result {
		os.Remove(urlFile)
		done := make(chan result)
		go func() { done <- e.run("", "auth", "login", "--host", srv.URL, "--web", "--insecure-storage") }()
		code := opened(t, urlFile)
		if err := srv.st.DecideDeviceCode(context.Background(), code, true, srv.alice.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		return <-done
	}
	r := login()
	if r.code != 0 {
		t.Fatalf("login --web exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "login --web", r.stderr, "First copy your one-time code: ", "Opened "+srv.URL+"/login/device in your browser",
		"Logged in to "+srv.URL+" as alice with token tokenctl@")
	if tokenRE.MatchString(r.stderr + r.stdout) {
		t.Error("the token is in the output")
	}
	st := e.run("", "auth", "status")
	mustContain(t, "status", st.stdout, "alice")
	// Again: the first login token is revoked, one remains.
	if r = login(); r.code != 0 {
		t.Fatalf("second login --web exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "second login", r.stderr, "Revoked the login token it replaced")
	toks, _, _ := srv.st.ScanTokens(context.Background(), store.ListOptions{UserID: srv.alice.ID, Limit: 10})
	if len(toks) != 1 {
		t.Fatalf("alice has %d tokens after two logins, want 1", len(toks))
	}
	if r := e.run("", "token", "list", "-o", "json"); r.code != 0 {
		t.Fatalf("the stored login token does not work: %d %s", r.code, r.stderr)
	}
}

func TestLoginWebDeniedExits4AndStoresNothing(t *testing.T) {
	srv := newWebServer(t, server.Config{})
	e := newTestEnv(t)
	urlFile := fakeBrowser(t, e)
	done := make(chan result)
	go func() { done <- e.run("", "auth", "login", "--host", srv.URL, "--web", "--insecure-storage") }()
	if err := srv.st.DecideDeviceCode(context.Background(), opened(t, urlFile), false, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 4 || !strings.Contains(r.stderr, "refused in the browser") {
		t.Fatalf("denied: exit %d: %s", r.code, r.stderr)
	}
	if got := e.filesContaining("tkn_"); len(got) != 0 {
		t.Fatalf("something was stored: %v", got)
	}
}

func TestLoginWebCtrlCExits130AndLeavesNothing(t *testing.T) {
	srv := newWebServer(t, server.Config{})
	e := newTestEnv(t)
	urlFile := fakeBrowser(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result)
	go func() {
		done <- e.runCtx(ctx, false, "", "auth", "login", "--host", srv.URL, "--web", "--insecure-storage")
	}()
	opened(t, urlFile)
	cancel() // Ctrl-C while it waits
	r := <-done
	if r.code != 130 {
		t.Fatalf("Ctrl-C: exit %d: %s", r.code, r.stderr)
	}
	toks, _, _ := srv.st.ScanTokens(context.Background(), store.ListOptions{UserID: srv.alice.ID, Limit: 10})
	if len(toks) != 0 || len(e.filesContaining("tkn_")) != 0 {
		t.Fatalf("Ctrl-C left %d tokens minted / files %v", len(toks), e.filesContaining("tkn_"))
	}
}

func TestLoginSuggestsWebWhenPasswordsAreOff(t *testing.T) {
	srv := newWebServer(t, server.Config{DisablePasswordLogin: true})
	e := newTestEnv(t)
	r := e.run("pw-alice\n", "auth", "login", "--host", srv.URL, "--username", "alice", "--password-stdin", "--insecure-storage")
	if r.code != 4 || !strings.Contains(r.stderr, "tokenctl auth login --web --host "+srv.URL) {
		t.Fatalf("password with passwords off: exit %d: %s", r.code, r.stderr)
	}
}

func TestLoginWebFlagConflicts(t *testing.T) {
	e := newTestEnv(t)
	for _, args := range [][]string{{"--web", "--username", "a"}, {"--web", "--with-token"}, {"--web", "--oidc"}} {
		r := e.run("", append([]string{"auth", "login", "--host", "http://127.0.0.1:1"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "--web cannot be used with") {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
}

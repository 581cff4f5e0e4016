package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
)

const testIDToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.c2lnbmF0dXJl"

// exchangeFront answers POST /v1/tokens/exchange as the contract says
// (minting through the real tokend with alice's password, standing in for
// a trust policy whose user is alice) and passes the rest to srv.
func exchangeFront(t *testing.T, srv *apiServer) *httptest.Server {
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/tokens/exchange" {
			proxy.ServeHTTP(w, r)
			return
		}
		var req api.ExchangeRequest
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.SubjectToken != testIDToken || r.Header.Get("Authorization") != "" {
			t.Errorf("bad exchange request %+v", req)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		secs := int64(15 * 60)
		if req.ExpiresInSeconds != nil {
			secs = *req.ExpiresInSeconds
		}
		ct, err := srv.basicClient(t).CreateToken(context.Background(), api.CreateTokenRequest{Name: "k8s:ns/app", ExpiresInSeconds: &secs}, "")
		if err != nil {
			t.Errorf("mint: %v", err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(api.ExchangedToken{CreatedToken: *ct, User: api.UserRef{Username: "alice"}, TrustPolicy: "k8s",
			AccessToken: ct.Secret, TokenType: "Bearer", IssuedTokenType: api.TokenTypeAccessToken, ExpiresIn: secs})
	}))
	t.Cleanup(front.Close)
	return front
}

func TestLoginOIDCStoresTheExchangedToken(t *testing.T) {
	srv := newAPIServer(t)
	front := exchangeFront(t, srv)
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "sa-token")
	os.WriteFile(path, []byte(testIDToken+"\n"), 0o600)

	r := e.run("", "auth", "login", "--host", front.URL, "--oidc-token-file", path, "--insecure-storage")
	if r.code != 0 {
		t.Fatalf("login exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "login", r.stderr, "Logged in to "+front.URL+" as alice with token k8s:ns/app")
	if strings.Contains(r.stderr+r.stdout, testIDToken) {
		t.Error("the identity token is in the output")
	}
	if got := e.filesContaining(testIDToken); len(got) != 0 {
		t.Errorf("the identity token was written to %v", got)
	}
	r = e.run("", "auth", "status")
	if r.code != 0 {
		t.Fatalf("status exit %d: %s", r.code, hideTokens(r.stderr))
	}
	mustContain(t, "status", r.stdout, "alice", "plain file")
	first := e.run("", "auth", "token").stdout

	// Logging in again this way revokes the exchanged token it replaces:
	// nobody else holds it.
	if r := e.run("", "auth", "login", "--host", front.URL, "--oidc-token-file", path, "--insecure-storage", "--expires-in", "10m"); r.code != 0 {
		t.Fatalf("second login exit %d: %s", r.code, hideTokens(r.stderr))
	}
	c, _ := client.New(client.Options{Host: srv.URL, Token: strings.TrimSpace(first)})
	if _, err := c.User(context.Background()); !client.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("the replaced exchanged token still works (err %v)", err)
	}
	if n := srv.tokenCount(t); n != 1 {
		t.Errorf("%d tokens, want 1", n)
	}
}

func TestLoginOIDCRefusesOtherWaysToLogIn(t *testing.T) {
	e := newTestEnv(t)
	for _, args := range [][]string{
		{"auth", "login", "--host", "http://127.0.0.1:1", "--oidc", "--with-token"},
		{"auth", "login", "--host", "http://127.0.0.1:1", "--oidc", "-u", "alice", "--password-stdin"},
		{"auth", "login", "--host", "http://127.0.0.1:1", "--oidc"}, // no identity token
	} {
		if r := e.run("", args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
}

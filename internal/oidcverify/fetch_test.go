package oidcverify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/oidctest"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
)

// fakeIssuer serves a discovery document naming jwksURI and, at /jwks,
// redirects to redirect; keys come from a real test issuer's signing.
func fakeIssuer(t *testing.T, jwksURI func(base string) string, redirect string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","jwks_uri":"` + jwksURI(srv.URL) + `"}`))
		case "/jwks":
			http.Redirect(w, r, redirect, http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestKeysAreFetchedOnlyOverHTTPS(t *testing.T) {
	signer := oidctest.NewIssuer(t)
	tests := []struct {
		name       string
		jwksURI    func(base string) string
		redirect   string
		wantDetail string
	}{
		{"jwks_uri over plain http across the network", func(string) string { return "http://keys.example.com/jwks" }, "", "is not https"},
		{"redirect to plain http across the network", func(b string) string { return b + "/jwks" }, "http://keys.example.com/jwks", "redirect to http://keys.example.com/jwks refused"},
		{"redirect loop", func(b string) string { return b + "/jwks" }, "/jwks", "more than 3 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeIssuer(t, tt.jwksURI, tt.redirect)
			raw := signer.Mint(t, map[string]any{"iss": srv.URL, "aud": "a", "sub": "s"})
			v := oidcverify.New(oidcverify.Options{})
			_, err := v.Verify(context.Background(), raw, srv.URL, []string{"a"})
			e := wantReason(t, err, api.ReasonIssuerUnavailable)
			if !strings.Contains(e.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want %q", e.Detail, tt.wantDetail)
			}
		})
	}
}

func TestRedirectOnLoopbackIsFollowed(t *testing.T) {
	signer := oidctest.NewIssuer(t)
	srv := fakeIssuer(t, func(b string) string { return b + "/jwks" }, signer.JWKSURL())
	raw := signer.Mint(t, map[string]any{"iss": srv.URL, "aud": "a", "sub": "s"})
	v := oidcverify.New(oidcverify.Options{HTTPClient: &http.Client{}})
	if _, err := v.Verify(context.Background(), raw, srv.URL, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if signer.JWKSFetches() != 1 {
		t.Fatalf("JWKS fetches = %d", signer.JWKSFetches())
	}
}

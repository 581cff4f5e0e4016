package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// A JWT-shaped identity token (header {"alg":"RS256"}); its content does
// not matter to the client, which never parses it.
const testIDToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.c2lnbmF0dXJl"

func TestExchangeSendsNoCredentialAndRedactsBothSecrets(t *testing.T) {
	minted, _ := secret.Generate(secret.DefaultPrefix)
	var got api.ExchangeRequest
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Method != http.MethodPost || r.URL.Path != "/v1/tokens/exchange" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("exchange sent Authorization %q", a)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(api.ExchangedToken{
			CreatedToken: api.CreatedToken{Token: api.Token{ID: "t1", Name: "gha:org/app@refs/heads/main"}, Secret: minted.String()},
			AccessToken:  minted.String(), TokenType: "Bearer", IssuedTokenType: api.TokenTypeAccessToken, ExpiresIn: 900,
		})
	}))
	defer srv.Close()
	var trace bytes.Buffer
	c, err := New(Options{Host: srv.URL, Debug: &trace})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Exchange(context.Background(), api.ExchangeRequest{SubjectToken: testIDToken, SubjectTokenType: api.TokenTypeIDToken, Scope: "deploy:write"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Secret != minted.String() || out.ID != "t1" {
		t.Errorf("answer %+v", out)
	}
	if got.GrantType != api.GrantTypeTokenExchange || got.SubjectToken != testIDToken || got.Scope != "deploy:write" || got.ExpiresInSeconds != nil {
		t.Errorf("server got %+v", got)
	}
	tr := trace.String()
	if !strings.Contains(tr, "/v1/tokens/exchange") || !strings.Contains(tr, "[redacted]") {
		t.Errorf("trace does not show the redacted exchange:\n%s", tr)
	}
	for _, s := range []string{testIDToken, minted.String(), "c2lnbmF0dXJl"} {
		if strings.Contains(tr, s) {
			t.Errorf("trace leaks %q:\n%s", s, tr)
		}
	}
}

func TestExchangeIsNotRetried(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, _ := New(Options{Host: srv.URL, Backoff: func(int) time.Duration { return 0 }})
	if _, err := c.Exchange(context.Background(), api.ExchangeRequest{SubjectToken: testIDToken}); !IsStatus(err, http.StatusServiceUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1: a second try would be refused as a replay", calls)
	}
}

func TestRedactJSONCatchesAJWTAnywhere(t *testing.T) {
	var v any
	_ = json.Unmarshal([]byte(`{"detail":"`+testIDToken+`","jwt_like":"a.b.c"}`), &v)
	out, _ := json.Marshal(RedactJSON(v))
	if want := `{"detail":"[redacted]","jwt_like":"a.b.c"}`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
}

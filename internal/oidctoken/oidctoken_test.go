package oidctoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/exitcode"
)

const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.c2lnbmF0dXJl"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func isUsage(err error) bool {
	var ue *exitcode.UsageError
	return errors.As(err, &ue)
}

// noLeak fails when err's message carries a secret.
func noLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("token", "  "+jwt+"\n")
	tok, err := Source{File: ok, Getenv: env(nil)}.Get(context.Background())
	if err != nil || tok.Value != jwt || tok.Type != api.TokenTypeJWT {
		t.Fatalf("got %+v, %v", tok, err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope"), "does not exist"},
		{"empty", write("empty", " \n\t"), "is empty"},
		{"too large", write("big", strings.Repeat("a", api.MaxSubjectTokenLen+1)), "more than 16384 bytes"},
		{"directory", dir, "cannot be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Source{File: tt.path, Getenv: env(nil)}.Get(context.Background())
			if err == nil || !isUsage(err) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--oidc-token-file "+tt.path) {
				t.Fatalf("err = %v, want a usage error naming the file and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tok, err := Source{Env: "TOKENCTL_ID_TOKEN", Getenv: env(map[string]string{"TOKENCTL_ID_TOKEN": jwt + "\n"})}.Get(context.Background())
	if err != nil || tok.Value != jwt || tok.From != "--oidc-token-env TOKENCTL_ID_TOKEN" {
		t.Fatalf("got %+v, %v", tok, err)
	}
	_, err = Source{Env: "TOKENCTL_ID_TOKEN", Getenv: env(nil)}.Get(context.Background())
	if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "TOKENCTL_ID_TOKEN is unset or empty") {
		t.Fatalf("unset: %v", err)
	}
	big := strings.Repeat("a", api.MaxSubjectTokenLen+1)
	_, err = Source{Env: "T", Getenv: env(map[string]string{"T": big})}.Get(context.Background())
	if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("too large: %v", err)
	}
	noLeak(t, err, big)
	// A value where a name belongs is refused without echoing it.
	_, err = Source{Env: jwt, Getenv: env(nil)}.Get(context.Background())
	if err == nil || !isUsage(err) {
		t.Fatalf("value as name: %v", err)
	}
	_, err = Source{Env: "A", File: "f", Getenv: env(nil)}.Get(context.Background())
	if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "cannot be used together") {
		t.Fatalf("both: %v", err)
	}
}

func TestFileWinsOverEnvAndActions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t")
	os.WriteFile(p, []byte(jwt), 0o600)
	tok, err := Source{File: p, Getenv: env(map[string]string{EnvActionsRequestURL: "https://x", EnvActionsRequestToken: "r"})}.Get(context.Background())
	if err != nil || tok.From != "--oidc-token-file "+p {
		t.Fatalf("got %+v, %v", tok, err)
	}
}

func TestNoSourceSaysWhatToDo(t *testing.T) {
	// One of the two runner variables alone is what a job without
	// `permissions: id-token: write` looks like.
	_, err := Source{Getenv: env(map[string]string{"GITHUB_ACTIONS": "true", EnvActionsRequestURL: "https://x"})}.Get(context.Background())
	if !errors.Is(err, ErrNoSource) || !isUsage(err) || !strings.Contains(err.Error(), "permissions: id-token: write") {
		t.Fatalf("err = %v", err)
	}
}

// actionsRunner stands in for the runner's ID-token endpoint.
type actionsRunner struct {
	srv           *httptest.Server
	gotAuth, gotQ string
	answer        func(w http.ResponseWriter)
}

func newRunner(t *testing.T, answer func(w http.ResponseWriter)) *actionsRunner {
	r := &actionsRunner{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.gotAuth, r.gotQ = req.Header.Get("Authorization"), req.URL.RawQuery
		r.answer(w)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

const runnerBearer = "runner-request-token-SECRET"

func (r *actionsRunner) source(aud string) Source {
	return Source{Audience: aud, Getenv: env(map[string]string{
		EnvActionsRequestURL:   r.srv.URL + "/_apis/idtoken?api-version=2.0",
		EnvActionsRequestToken: runnerBearer,
	})}
}

func TestFromActions(t *testing.T) {
	r := newRunner(t, func(w http.ResponseWriter) { fmt.Fprintf(w, `{"count":1,"value":%q}`, jwt) })
	tok, err := r.source("tokend.example.com:8443").Get(context.Background())
	if err != nil || tok.Value != jwt || tok.Type != api.TokenTypeIDToken {
		t.Fatalf("got %+v, %v", tok, err)
	}
	if r.gotAuth != "Bearer "+runnerBearer {
		t.Errorf("Authorization %q", r.gotAuth)
	}
	if want := "api-version=2.0&audience=tokend.example.com%3A8443"; r.gotQ != want {
		t.Errorf("query %q, want %q", r.gotQ, want)
	}
}

func TestFromActionsFailures(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   string
	}{
		{"refused", func(w http.ResponseWriter) { http.Error(w, `{"message":"`+jwt+`"}`, http.StatusForbidden) }, "HTTP 403"},
		{"garbage", func(w http.ResponseWriter) { fmt.Fprint(w, "<html>"+jwt) }, `not JSON with a "value"`},
		{"no value", func(w http.ResponseWriter) { fmt.Fprint(w, `{"value":""}`) }, `not JSON with a "value"`},
		{"oversized", func(w http.ResponseWriter) {
			fmt.Fprintf(w, `{"value":%q}`, strings.Repeat("a", api.MaxSubjectTokenLen+1))
		}, "longer than 16384 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, tt.answer)
			_, err := r.source("aud").Get(context.Background())
			if err == nil || isUsage(err) || !strings.HasPrefix(err.Error(), "the Actions runner did not give an ID token: ") ||
				!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "permissions: id-token: write") {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			noLeak(t, err, jwt, runnerBearer)
		})
	}
}

func TestFromActionsTimesOut(t *testing.T) {
	release := make(chan struct{})
	r := newRunner(t, func(w http.ResponseWriter) { <-release })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.source("aud").Get(ctx)
	if err == nil || !strings.Contains(err.Error(), "no answer within --timeout") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestFromActionsRefusesPlainHTTPToARemoteHost(t *testing.T) {
	s := Source{Getenv: env(map[string]string{EnvActionsRequestURL: "http://runner.example.com/idtoken?x=1", EnvActionsRequestToken: runnerBearer})}
	_, err := s.Get(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://tokend.example.com":         "tokend.example.com",
		"https://Tokend.Example.com:443/api": "tokend.example.com",
		"https://tokend.example.com:8443":    "tokend.example.com:8443",
		"http://127.0.0.1:8080":              "127.0.0.1:8080",
		"http://localhost":                   "localhost",
		"http://[::1]:9000":                  "[::1]:9000",
	} {
		if got := DefaultAudience(in); got != want {
			t.Errorf("DefaultAudience(%q) = %q, want %q", in, got, want)
		}
	}
}

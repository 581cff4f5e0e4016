package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/tokend"
)

// env is a real tokend (tokend.Run serve, in-process) on a SQLite file
// with a member, ada, and an admin, root.
type env struct {
	t    *testing.T
	url  string
	db   string
	work string
}

const (
	adaPassword  = "ada-pw-4711"
	rootPassword = "root-pw-4711"
)

var none = func(string) string { return "" }

// tokendRun runs one tokend command line, failing t when it fails.
func tokendRun(t *testing.T, stdin string, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	if err := tokend.Run(t.Context(), args, none, strings.NewReader(stdin), io.Discard, &stderr); err != nil {
		t.Fatalf("tokend %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

// newEnv makes the database (setup may add to it, such as an SSO
// provider) and serves it with extra serve flags.
func newEnv(t *testing.T, setup func(db string), serveArgs ...string) *env {
	t.Helper()
	e := &env{t: t, work: t.TempDir()}
	e.db = filepath.Join(e.work, "tokend.db")
	tokendRun(t, adaPassword+"\n", "user", "add", "ada", "--database", e.db)
	tokendRun(t, rootPassword+"\n", "user", "add", "root", "--admin", "--database", e.db)
	if setup != nil {
		setup(e.db)
	}
	addrFile := filepath.Join(e.work, "url")
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- tokend.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--database", e.db}, serveArgs...),
			none, strings.NewReader(""), io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("tokend serve: %v", err)
		}
	})
	e.url = strings.TrimSpace(string(waitFile(t, addrFile)))
	return e
}

// waitFile waits for path to appear (tokend writes it atomically).
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	for range 1200 {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return b
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return nil
}

// api sends one API request with auth ("Basic …" or "Bearer …") and
// decodes a 2xx answer into out; it returns the status.
func (e *env) api(method, path, auth string, body, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

func basic(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header.Get("Authorization")
}

// create makes a token for ada through the API.
func (e *env) create(name string) api.CreatedToken {
	e.t.Helper()
	var c api.CreatedToken
	if st := e.api("POST", "/v1/tokens", basic("ada", adaPassword), api.CreateTokenRequest{Name: name}, &c); st != http.StatusCreated {
		e.t.Fatalf("create %s: status %d", name, st)
	}
	return c
}

// tokens lists ada's tokens by name.
func (e *env) tokens(user, pw string) map[string]api.Token {
	e.t.Helper()
	var page api.TokenPage
	if st := e.api("GET", "/v1/tokens?limit=1000", basic(user, pw), nil, &page); st != http.StatusOK {
		e.t.Fatalf("list tokens: status %d", st)
	}
	out := map[string]api.Token{}
	for _, t := range page.Items {
		out[t.Name] = t
	}
	return out
}

// works reports the status of GET /v1/user with secret.
func (e *env) works(secret string) int {
	e.t.Helper()
	return e.api("GET", "/v1/user", "Bearer "+secret, nil, nil)
}

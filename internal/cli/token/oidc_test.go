package token

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// idToken stands for a CI job's identity token; tokenctl never parses it.
const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9hcHAifQ.c2lnbmF0dXJl"

// exchangeFront plays tokend's POST /v1/tokens/exchange as the contract
// describes it (minting straight into the real store, with no scope, like
// a policy granting none) and passes every other request to the real
// tokend of e, so DELETE /v1/tokens/current is the real one.
type exchangeFront struct {
	e   *testEnv
	srv *httptest.Server

	mu        sync.Mutex
	exchanges []api.ExchangeRequest
	deletes   []string // Authorization of each DELETE /v1/tokens/current
	refuse    func(w http.ResponseWriter) bool
}

func newExchangeFront(t *testing.T) *exchangeFront {
	e := newTestEnv(t)
	fr := &exchangeFront{e: e}
	target, _ := url.Parse(e.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	fr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/tokens/exchange":
			fr.exchange(t, w, r)
		case r.Method == http.MethodDelete && r.URL.Path == "/v1/tokens/current":
			fr.mu.Lock()
			fr.deletes = append(fr.deletes, r.Header.Get("Authorization"))
			fr.mu.Unlock()
			proxy.ServeHTTP(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(fr.srv.Close)
	// No credential at all: only the host, as in a CI job with no secret.
	e.cred = nil
	e.f.ClientOptions = func() (client.Options, error) {
		return client.Options{Host: fr.srv.URL, Budget: client.NewBudget(10 * time.Second)}, nil
	}
	return fr
}

func (fr *exchangeFront) exchange(t *testing.T, w http.ResponseWriter, r *http.Request) {
	if a := r.Header.Get("Authorization"); a != "" {
		t.Errorf("the exchange carried Authorization %q", a)
	}
	var req api.ExchangeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		t.Errorf("decode exchange: %v", err)
	}
	fr.mu.Lock()
	fr.exchanges = append(fr.exchanges, req)
	refuse := fr.refuse
	fr.mu.Unlock()
	if refuse != nil && refuse(w) {
		return
	}
	if req.SubjectToken != idToken {
		problem(w, 401, api.CodeSubjectTokenRejected, api.ReasonMalformed, "not the test identity token")
		return
	}
	name := req.Name
	if name == "" {
		name = "gha:org/app@refs/heads/main#run-1"
	}
	life := 15 * time.Minute
	if req.ExpiresInSeconds != nil {
		life = time.Duration(*req.ExpiresInSeconds) * time.Second
	}
	e := fr.e
	sec, _ := secret.Generate(secret.DefaultPrefix)
	now := e.clock.Now()
	id := store.NewID(now)
	if _, _, err := e.st.CreateToken(context.Background(), store.NewToken{
		ID: id, UserID: e.userID, Name: name, KeyHint: sec.Hint(), Digest: sec.Digest(),
		CreatedAt: now, ExpiresAt: now.Add(life), Scopes: []string{},
	}); err != nil {
		t.Errorf("mint: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(api.ExchangedToken{
		CreatedToken: api.CreatedToken{Token: api.Token{ID: id, Name: name, KeyHint: sec.Hint(), CreatedAt: now, ExpiresAt: now.Add(life)}, Secret: sec.String()},
		User:         api.UserRef{ID: e.userID, Username: "alice"}, TrustPolicy: "gha-deploy",
		AccessToken: sec.String(), IssuedTokenType: api.TokenTypeAccessToken, TokenType: "Bearer", ExpiresIn: int64(life / time.Second),
	})
}

func problem(w http.ResponseWriter, status int, code, reason, detail string) {
	w.Header().Set("Content-Type", api.ProblemContentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Reason: reason, Detail: detail})
}

func (fr *exchangeFront) withIDTokenEnv(t *testing.T) {
	t.Setenv("TOKENCTL_ID_TOKEN", idToken) // the child's environment
	fr.e.environ["TOKENCTL_ID_TOKEN"] = idToken
}

func TestExecOIDCExchangesRunsAndTheTokenDeletesItself(t *testing.T) {
	fr := newExchangeFront(t)
	fr.withIDTokenEnv(t)
	e := fr.e
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		_, _, code := e.run("exec", "--oidc-token-env", "TOKENCTL_ID_TOKEN", "--", testBinary(t), "exec-child", "wait", dir, DefaultExecEnv)
		done <- code
	}()
	pid := waitForChild(t, dir)
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
		requireCI(t, "cannot read /proc/PID/environ: "+err.Error())
	}
	var sec string
	idTokenPassedOn := false
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if v, ok := strings.CutPrefix(string(kv), DefaultExecEnv+"="); ok {
			sec = v
		}
		if strings.HasPrefix(string(kv), "TOKENCTL_ID_TOKEN=") {
			idTokenPassedOn = true
		}
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	running := sec != "" && e.works(sec)
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	code := <-done

	switch {
	case code != 0:
		t.Fatalf("exit %d\nstderr: %s", code, e.errOut)
	case !secretRE.MatchString(sec) || !running:
		t.Fatalf("the child had no working token in %s", DefaultExecEnv)
	case bytes.Contains(cmdline, []byte("tkn_")) || bytes.Contains(cmdline, []byte(idToken)):
		t.Fatalf("a secret in the child's argv: %q", cmdline)
	case idTokenPassedOn:
		t.Fatal("the child inherited the identity token (TOKENCTL_ID_TOKEN)")
	case e.works(sec) || len(e.tokens()) != 1: // only alice's login token is left
		t.Fatal("the exchanged token outlived the child")
	}
	if len(fr.exchanges) != 1 {
		t.Fatalf("%d exchanges", len(fr.exchanges))
	}
	x := fr.exchanges[0]
	if x.SubjectToken != idToken || x.SubjectTokenType != api.TokenTypeJWT || x.GrantType != api.GrantTypeTokenExchange ||
		x.Scope != "" || x.ExpiresInSeconds != nil || x.Name != "" {
		t.Errorf("exchange request %+v: want the policy's scopes, lifetime and naming", x)
	}
	if len(fr.deletes) != 1 || fr.deletes[0] != "Bearer "+sec {
		t.Errorf("%d DELETE /v1/tokens/current calls, want one with the minted token", len(fr.deletes))
	}
	if out := e.out.String() + e.errOut.String(); strings.Contains(out, idToken) || strings.Contains(out, sec) {
		t.Errorf("a secret in the output: %q", out)
	}
}

func TestExecOIDCSendsScopeLifetimeAndName(t *testing.T) {
	fr := newExchangeFront(t)
	fr.withIDTokenEnv(t)
	fr.e.mustRun(0, "exec", "--oidc-token-env", "TOKENCTL_ID_TOKEN", "--scope", "deploy:write", "--scope", "a:read",
		"--expires-in", "5m", "--name", "deploy-42", "--", testBinary(t), "exec-child", "exit", "0", DefaultExecEnv)
	x := fr.exchanges[0]
	if x.Scope != "a:read deploy:write" || x.ExpiresInSeconds == nil || *x.ExpiresInSeconds != 300 || x.Name != "deploy-42" {
		t.Errorf("exchange request %+v", x)
	}
}

func TestExecOIDCInGitHubActions(t *testing.T) {
	fr := newExchangeFront(t)
	var gotAuth, gotAud string
	runner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAud = r.Header.Get("Authorization"), r.URL.Query().Get("audience")
		fmt.Fprintf(w, `{"value":%q}`, idToken)
	}))
	defer runner.Close()
	e := fr.e
	e.environ["GITHUB_ACTIONS"] = "true"
	e.environ["ACTIONS_ID_TOKEN_REQUEST_URL"] = runner.URL + "/idtoken?api-version=2.0"
	e.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "runner-bearer"
	_, errOut := e.mustRun(0, "exec", "--oidc", "--", testBinary(t), "exec-child", "check", fr.srv.URL, DefaultExecEnv)
	if !strings.HasPrefix(errOut, "::add-mask::tkn_") || !secretRE.MatchString(errOut) {
		t.Errorf("stderr %q: want the mask line first", errOut)
	}
	host, _ := url.Parse(fr.srv.URL)
	if gotAuth != "Bearer runner-bearer" || gotAud != host.Host {
		t.Errorf("runner got Authorization %q audience %q, want the bearer and %q", gotAuth, gotAud, host.Host)
	}
	if fr.exchanges[0].SubjectTokenType != api.TokenTypeIDToken {
		t.Errorf("subject_token_type %q", fr.exchanges[0].SubjectTokenType)
	}
	// --audience overrides the default.
	e.mustRun(0, "exec", "--oidc", "--audience", "tokend.example.com", "--", testBinary(t), "exec-child", "exit", "0", DefaultExecEnv)
	if gotAud != "tokend.example.com" {
		t.Errorf("audience %q", gotAud)
	}
	// Outside GitHub Actions there is no mask line.
	delete(e.environ, "GITHUB_ACTIONS")
	if _, errOut := e.mustRun(0, "exec", "--oidc", "--", testBinary(t), "exec-child", "exit", "0", DefaultExecEnv); strings.Contains(errOut, "add-mask") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestExecOIDCRefusalsMintNothingAndRunNothing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		refuse func(w http.ResponseWriter) bool
		code   int
		want   []string
	}{
		{"rejected", func(w http.ResponseWriter) bool {
			problem(w, 401, api.CodeSubjectTokenRejected, api.ReasonExpired, "the identity token expired at 10:00:00Z")
			return true
		}, 4, []string{"refused the exchange: the identity token was refused (expired): the identity token expired at 10:00:00Z"}},
		{"no policy", func(w http.ResponseWriter) bool {
			problem(w, 403, api.CodeNoMatchingPolicy, "", "no trust policy accepts this identity")
			return true
		}, 4, []string{"no trust policy accepts this identity", "tokend trust list"}},
		{"exceeds", func(w http.ResponseWriter) bool {
			problem(w, 403, api.CodeExceedsPolicy, "", "expires_in_seconds 7200 is longer than trust policy gha allows (900, 15m0s); ask for less or leave it out")
			return true
		}, 4, []string{"refused the exchange: expires_in_seconds 7200 is longer than trust policy gha allows (900, 15m0s); ask for less or leave it out\n"}},
		{"old server", func(w http.ResponseWriter) bool {
			problem(w, 404, "not_found", "", "no such route")
			return true
		}, 1, []string{"does not offer token exchange"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fr := newExchangeFront(t)
			fr.withIDTokenEnv(t)
			fr.refuse = tt.refuse
			marker := filepath.Join(t.TempDir(), "ran")
			_, errOut, code := fr.e.run("exec", "--oidc-token-env", "TOKENCTL_ID_TOKEN", "--", "sh", "-c", "touch "+marker)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, idToken) {
				t.Errorf("stderr is not one clean line: %q", errOut)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("COMMAND ran after a refused exchange")
			}
			if n := len(fr.e.tokens()); n != 1 {
				t.Errorf("%d tokens, want only the login token", n)
			}
		})
	}
}

// The 401 must keep its own message: a bare 401 means "log in again",
// which is wrong advice with no stored credential. The server's detail
// already names the reason, so it is said once.
func TestExchangeRejectionIsAnAuthErrorOfItsOwn(t *testing.T) {
	err := fmt.Errorf("token exchange: %w", &client.APIError{Host: "h", Status: 401, Problem: &api.Problem{Status: 401, Code: api.CodeSubjectTokenRejected, Reason: api.ReasonReplayed, Detail: "the identity token was refused (replayed): seen before"}})
	msg, code := cmdutil.Explain(err, nil)
	if msg != "token exchange: h refused the exchange: the identity token was refused (replayed): seen before" || code != 4 {
		t.Fatalf("msg = %q, exit %d", msg, code)
	}
}

func TestExecOIDCWithoutAnIdentityTokenIsAUsageError(t *testing.T) {
	fr := newExchangeFront(t)
	_, errOut, code := fr.e.run("exec", "--oidc", "--", "true")
	if code != 2 || !strings.Contains(errOut, "--oidc needs an identity token: in GitHub Actions add `permissions: id-token: write`") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if len(fr.exchanges) != 0 {
		t.Error("an exchange was sent")
	}
	for _, args := range [][]string{
		{"exec", "--oidc", "--scope", "", "--", "true"},
		{"exec", "--oidc", "-d", "x", "--", "true"},
		{"exec", "--audience", "x", "--", "true"},
		{"exec", "--oidc-token-env", "A", "--oidc-token-file", "f", "--", "true"},
		{"exec", "--oidc-token-file", filepath.Join(t.TempDir(), "missing"), "--", "true"},
	} {
		if _, errOut, code := fr.e.run(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr %q", args, code, errOut)
		}
	}
}

func TestExecOIDCReportsAFailedDelete(t *testing.T) {
	fr := newExchangeFront(t)
	fr.withIDTokenEnv(t)
	// The delete fails: the server is gone when COMMAND ends.
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		_, _, code := fr.e.run("exec", "--oidc-token-env", "TOKENCTL_ID_TOKEN", "--name", "orphan", "--", testBinary(t), "exec-child", "wait", dir, DefaultExecEnv)
		done <- code
	}()
	waitForChild(t, dir)
	id := fr.e.token("orphan").ID
	fr.srv.Close()
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	if code := <-done; code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	msg := fr.e.errOut.String()
	if !strings.Contains(msg, "could not delete token "+id) || !strings.Contains(msg, "expires at") || strings.Count(msg, "\n") != 1 || secretRE.MatchString(msg) {
		t.Fatalf("stderr %q", msg)
	}
}

func TestCreateOIDCPrintsLikeCreate(t *testing.T) {
	fr := newExchangeFront(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	os.WriteFile(path, []byte(idToken+"\n"), 0o600)
	e := fr.e
	e.environ["GITHUB_ACTIONS"] = "true"
	out, errOut := e.mustRun(0, "create", "--oidc-token-file", path, "-q")
	sec := strings.TrimSpace(out)
	if !secretRE.MatchString(sec) || !e.works(sec) || errOut != "::add-mask::"+sec+"\n" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	out, _ = e.mustRun(0, "create", "ci-job", "--oidc-token-file", path, "--expires-in", "10m", "-o", "json")
	var ct api.CreatedToken
	if err := json.Unmarshal([]byte(out), &ct); err != nil || ct.Name != "ci-job" || !e.works(ct.Secret) {
		t.Fatalf("json %q: %v", out, err)
	}
	if x := fr.exchanges[1]; x.Name != "ci-job" || x.ExpiresInSeconds == nil || *x.ExpiresInSeconds != 600 {
		t.Errorf("exchange %+v", x)
	}
	out, _ = e.mustRun(0, "create", "--oidc-token-file", path, "-o", "env", "--env-name", "API_TOKEN")
	if !strings.HasPrefix(out, "API_TOKEN='tkn_") {
		t.Errorf("-o env %q", out)
	}
	for _, args := range [][]string{
		{"create", "--oidc", "--scope", ""},
		{"create", "--oidc", "--expires-at", "2030-01-01"},
		{"create", "--oidc", "-d", "x"},
	} {
		if _, errOut, code := e.run(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr %q", args, code, errOut)
		}
	}
}
